return MicroLlm.Cli.CliApp.Run(args, Console.Out, Console.Error);
