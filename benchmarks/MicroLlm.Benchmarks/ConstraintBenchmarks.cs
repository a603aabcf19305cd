using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using MicroLlm.Constraints;
using MicroLlm.Gguf;
using MicroLlm.Tokenization;

namespace MicroLlm.Benchmarks;

/// <summary>
/// The cost of a grammar mask per decode step over the 32,000-token llama-spm vocabulary, for the JSON grammar
/// (the budget: 10% of a ~25 ms TinyLlama-1.1B Q4_0 decode step, so 2.5 ms): one warm mask in a given state (caches
/// filled, as on every step after the first few).
/// </summary>
/// <remarks>dotnet run -c Release --project benchmarks/MicroLlm.Benchmarks -- --filter '*Constraint*'</remarks>
[MemoryDiagnoser]
public class ConstraintBenchmarks
{
    private TokenConstraint _constraint = null!;
    private bool[] _mask = [];

    /// <summary>The output so far, which sets the grammar state the mask is computed in.</summary>
    [Params("", "{\"", "{\"name\": \"Rahim Ud", "{\"age\": 4", "{\"tags\": [")]
    public string Prefix { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var vocabulary = ConstraintBenchData.Vocabulary();
        _mask = new bool[vocabulary.Count];
        _constraint = TokenConstraint.Create(Grammar.Parse(ConstraintBenchData.JsonGrammar), vocabulary);
        _constraint.AcceptBytes(Encoding.UTF8.GetBytes(Prefix));
        _constraint.ComputeMask(_mask); // warm the transitions this state needs
    }

    [Benchmark]
    public int Mask() => _constraint.ComputeMask(_mask);
}

/// <summary>
/// Mask + accept for each token of a 53-token JSON document, reported per token: <c>Warm</c> keeps the transition caches
/// from earlier runs (a long generation), <c>Cold</c> builds them from nothing (the first output of a new constraint).
/// </summary>
[MemoryDiagnoser]
public class ConstraintGenerationBenchmarks
{
    private const int DocumentTokens = 53;
    private const string Document = "{\"name\": \"Rahim Uddin\", \"age\": 42, \"city\": \"ঢাকা\", \"tags\": [\"a\", \"b\"], \"score\": 0.875, \"ok\": true}";

    private ConstraintVocabulary _vocabulary = null!;
    private Grammar _grammar = null!;
    private TokenConstraint _warm = null!;
    private bool[] _mask = [];
    private int[] _tokens = [];

    [GlobalSetup]
    public void Setup()
    {
        _vocabulary = ConstraintBenchData.Vocabulary();
        _grammar = Grammar.Parse(ConstraintBenchData.JsonGrammar);
        _mask = new bool[_vocabulary.Count];
        _tokens = ConstraintBenchData.GreedyTokens(_vocabulary, Document);
        if (_tokens.Length != DocumentTokens)
        {
            throw new InvalidOperationException($"The document is {_tokens.Length} tokens; update DocumentTokens.");
        }

        _warm = TokenConstraint.Create(_grammar, _vocabulary);
        Warm();
    }

    [Benchmark(OperationsPerInvoke = DocumentTokens)]
    public int Warm() => Generate(_warm);

    [Benchmark(OperationsPerInvoke = DocumentTokens)]
    public int Cold() => Generate(TokenConstraint.Create(_grammar, _vocabulary));

    private int Generate(TokenConstraint constraint)
    {
        constraint.Reset();
        int allowed = 0;
        foreach (int token in _tokens)
        {
            allowed += constraint.ComputeMask(_mask);
            constraint.Accept(token);
        }

        return allowed;
    }
}

/// <summary>Inputs of the constraint benchmarks.</summary>
internal static class ConstraintBenchData
{
    public const string JsonGrammar = """
        root   ::= object
        value  ::= object | array | string | number | ("true" | "false" | "null") ws
        object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
        array  ::= "[" ws ( value ("," ws value)* )? "]" ws
        string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
        number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
        ws     ::= | " " | "\n" [ \t]{0,20}
        """;

    /// <summary>Longest-match tokens for a text (enough to drive the grammar; not the model's own tokenization).</summary>
    public static int[] GreedyTokens(ConstraintVocabulary vocabulary, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var byBytes = new Dictionary<string, int>();
        for (int id = vocabulary.Count - 1; id >= 0; id--)
        {
            var b = vocabulary.GetTokenBytes(id);
            if (b.Length > 0)
            {
                byBytes[Convert.ToHexString(b)] = id;
            }
        }

        var tokens = new List<int>();
        for (int pos = 0; pos < bytes.Length;)
        {
            for (int length = Math.Min(16, bytes.Length - pos); length > 0; length--)
            {
                if (byBytes.TryGetValue(Convert.ToHexString(bytes, pos, length), out int id))
                {
                    tokens.Add(id);
                    pos += length;
                    break;
                }
            }
        }

        return [.. tokens];
    }

    /// <summary>The llama-spm vocabulary as token bytes.</summary>
    public static ConstraintVocabulary Vocabulary()
    {
        using var file = GgufFile.Open(VocabularyPath());
        var vocabulary = GgufVocabulary.FromMetadata(file.Metadata);
        var bytes = new byte[vocabulary.Count][];
        for (int i = 0; i < bytes.Length; i++)
        {
            string piece = vocabulary.Tokens[i];
            bytes[i] = vocabulary.GetTokenType(i) switch
            {
                // SentencePiece: <0xAB> byte tokens are the byte, '▁' is a space, control tokens print nothing.
                GgufTokenType.Byte => [byte.Parse(piece.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)],
                GgufTokenType.Control or GgufTokenType.Unknown or GgufTokenType.Unused => [],
                _ => Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' ')),
            };
        }

        return ConstraintVocabulary.Create(bytes, [vocabulary.EosId ?? 2]);
    }

    /// <summary><c>MICROLLM_BENCH_VOCAB</c>, else <c>../shared/conformance/tokenizer/ggml-vocab-llama-spm.gguf</c> beside the checkout.</summary>
    private static string VocabularyPath()
    {
        string? env = Environment.GetEnvironmentVariable("MICROLLM_BENCH_VOCAB");
        if (!string.IsNullOrEmpty(env))
        {
            return Path.GetFullPath(env);
        }

        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "..", "shared", "conformance", "tokenizer", "ggml-vocab-llama-spm.gguf");
            if (File.Exists(Path.Combine(dir.FullName, "MicroLlm.sln")) && File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        throw new FileNotFoundException("ggml-vocab-llama-spm.gguf not found; run from the checkout with ../shared beside it, or set MICROLLM_BENCH_VOCAB.");
    }
}
