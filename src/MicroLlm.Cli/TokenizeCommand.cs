using System.CommandLine;
using MicroLlm.Gguf;
using MicroLlm.Tokenization;

namespace MicroLlm.Cli;

/// <summary><c>microllm tokenize --model M.gguf --text "..." [--bos] [--parse-special]</c>: the ids, space-separated, on one line.</summary>
internal static class TokenizeCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<FileInfo>("--model", "-m") { Description = "The GGUF model or vocabulary file.", Required = true };
        var text = new Option<string>("--text", "-t") { Description = "The text to tokenize.", Required = true };
        var bos = new Option<bool>("--bos") { Description = "Put the model's beginning-of-sequence token first." };
        var special = new Option<bool>("--parse-special") { Description = "Recognise control tokens such as <|im_start|> written in the text." };
        var command = new Command("tokenize", "Print the token ids of a text, space-separated, on one line.") { model, text, bos, special };
        command.SetAction(parse =>
        {
            using var file = GgufFile.Open(parse.GetRequiredValue(model).FullName);
            var tokenizer = GgufTokenizer.Create(file);
            var ids = new List<int>();
            if (parse.GetValue(bos))
            {
                ids.Add(tokenizer.BeginningOfSentenceId
                    ?? throw new InvalidDataException("This model has no beginning-of-sequence token; run without --bos."));
            }

            ids.AddRange(tokenizer.Encode(parse.GetRequiredValue(text), addSpecialTokens: false, parseSpecialTokens: parse.GetValue(special)));
            stdout.WriteLine(string.Join(' ', ids));
            return 0;
        });
        return command;
    }
}
