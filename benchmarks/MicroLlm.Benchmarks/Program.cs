using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/MicroLlm.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
