using System.Collections.Frozen;

namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// How a <c>gpt2</c> (byte-level BPE) vocabulary cuts text into words before merging, chosen by the file's
/// <c>tokenizer.ggml.pre</c>: the reference runtime's stages for that name, run in order, plus the settings the
/// name implies elsewhere in the reference (merging whole-vocabulary words, BOS, space clean-up on decoding).
/// </summary>
internal sealed class ByteLevelPreTokenizer
{
    // The classes of DeepSeek LLM's pre-tokenizer (its tokenizer.json): cased letters, ASCII and full-width
    // punctuation, CJK ideographs and Hangul, CJK ideographs and kana; as inclusive code point ranges.
    private static readonly CodePointSet DeepSeekLetters = CodePointSet.Of(
        0x0041, 0x005A, 0x0061, 0x007A, 0x00B5, 0x00B5, 0x00C0, 0x00D6, 0x00D8, 0x00F6, 0x00F8, 0x01BA,
        0x01BC, 0x01BF, 0x01C4, 0x0293, 0x0295, 0x02AF, 0x0370, 0x0373, 0x0376, 0x0377, 0x037B, 0x037D,
        0x037F, 0x037F, 0x0386, 0x0386, 0x0388, 0x038A, 0x038C, 0x038C, 0x038E, 0x03A1, 0x03A3, 0x03F5,
        0x03F7, 0x0481, 0x048A, 0x052F, 0x0531, 0x0556, 0x10A0, 0x10C5, 0x13A0, 0x13F5, 0x13F8, 0x13FD,
        0x1C90, 0x1CBA, 0x1CBD, 0x1CBF, 0x1D00, 0x1D2B, 0x1D6B, 0x1D77, 0x1D79, 0x1D9A, 0x1E00, 0x1F15,
        0x1F18, 0x1F1D, 0x1F20, 0x1F45, 0x1F48, 0x1F4D, 0x1F50, 0x1F57, 0x1F59, 0x1F59, 0x1F5B, 0x1F5B,
        0x1F5D, 0x1F5D, 0x1F5F, 0x1F7D, 0x1F80, 0x1FB4, 0x1FB6, 0x1FBC, 0x1FBE, 0x1FBE, 0x1FC2, 0x1FC4,
        0x1FC6, 0x1FCC, 0x1FD0, 0x1FD3, 0x1FD6, 0x1FDB, 0x1FE0, 0x1FEC, 0x1FF2, 0x1FF4, 0x1FF6, 0x1FFC,
        0x2102, 0x2102, 0x2107, 0x2107, 0x210A, 0x2113, 0x2115, 0x2115, 0x2119, 0x211D, 0x2124, 0x2124,
        0x2126, 0x2126, 0x2128, 0x2128, 0x212A, 0x212D, 0x212F, 0x2134, 0x2139, 0x2139, 0x213C, 0x213F,
        0x2145, 0x2149, 0x214E, 0x214E, 0x2183, 0x2184, 0x2C00, 0x2C7B, 0x2C7E, 0x2CE4, 0x2CEB, 0x2CEE,
        0x2CF2, 0x2CF3, 0xA640, 0xA66D, 0xA680, 0xA69B, 0xA722, 0xA76F, 0xA771, 0xA787, 0xA78B, 0xA78E,
        0xAB70, 0xABBF, 0xFB00, 0xFB06, 0xFB13, 0xFB17, 0xFF21, 0xFF3A, 0xFF41, 0xFF5A, 0x10400, 0x1044F,
        0x104B0, 0x104D3, 0x104D8, 0x104FB, 0x10C80, 0x10CB2, 0x10CC0, 0x10CF2, 0x118A0, 0x118DF, 0x1E900, 0x1E943);

    private static readonly CodePointSet DeepSeekPunctuation = CodePointSet.Of(
        '!', '/', ':', '~', 0x2018, 0x201F, 0x3000, 0x3002, 0xFF01, 0xFF0F, 0xFF1A, 0xFF5E);

    private static readonly CodePointSet CjkAndHangul = CodePointSet.Of(0x0800, 0x9FA5, 0xAC00, 0xD7FF);

    private static readonly CodePointSet CjkAndKana = CodePointSet.Of(0x3040, 0x30FF, 0x4E00, 0x9FA5);

    // [^(\s|.,!?…。，、।۔،)]: \s itself is handled as white space by the wide spelling (U+000B stands for the rest).
    private static readonly CodePointSet BloomWord = CodePointSet.AllBut(
        '\t', '\r', ' ', ' ', '!', '!', '(', ')', ',', ',', '.', '.', '?', '?', '|', '|',
        0x060C, 0x060C, 0x06D4, 0x06D4, 0x0964, 0x0964, 0x2026, 0x2026, 0x3001, 0x3002, 0xFF0C, 0xFF0C);

    private static readonly SetRunSplitter LineBreak = new(CodePointSet.Of('\n', '\n', '\r', '\r'), max: 1);
    private static readonly SetRunSplitter ThreeAsciiDigits = new(CodePointSet.Of('0', '9'), min: 3, max: 3);
    private static readonly SetRunSplitter BloomWords = new(BloomWord, RunPrefix.OptionalSpace);

    private static readonly ByteLevelPreTokenizer Default = new(
        "default", [CollapsedRegexSplitter.DefaultPunctuation, Gpt2WordSplitter.Instance, CollapsedRegexSplitter.DigitRun, ThreeAsciiDigits]);

    private static readonly ByteLevelPreTokenizer Gpt2 = new("gpt-2", [Gpt2WordSplitter.Instance]);

    private static readonly ByteLevelPreTokenizer Llama3 = new("llama3", [Llama3WordSplitter.Instance], ignoreMerges: true, defaultAddBos: true);

    private static readonly ByteLevelPreTokenizer Starcoder = new("starcoder", [CollapsedRegexSplitter.Digit, Gpt2WordSplitter.Instance]);

    private static readonly ByteLevelPreTokenizer Qwen2 = new("qwen2", [CollapsedRegexSplitter.Qwen2], cleanSpaces: false);

    private static readonly ByteLevelPreTokenizer Bloom = new("bloom", [BloomWords]);

    private static readonly FrozenDictionary<string, ByteLevelPreTokenizer> ByName = new Dictionary<string, ByteLevelPreTokenizer>(StringComparer.Ordinal)
    {
        ["default"] = Default,
        ["llama3"] = Llama3,
        ["llama-v3"] = Llama3,
        ["llama-bpe"] = Llama3,
        ["falcon3"] = Llama3,
        ["dbrx"] = new("dbrx", [Llama3WordSplitter.Instance]),
        ["smaug-bpe"] = new("smaug-bpe", [Llama3WordSplitter.Instance]),
        ["chatglm-bpe"] = new("chatglm-bpe", [Llama3WordSplitter.Instance], defaultBosNone: true),
        ["deepseek-llm"] = new(
            "deepseek-llm",
            [
                LineBreak,
                new SetRunSplitter(DeepSeekLetters, RunPrefix.OptionalWhitespace),
                new SetRunSplitter(DeepSeekPunctuation, RunPrefix.OptionalWhitespace),
                TrailingWhitespaceSplitter.Instance,
                new SetRunSplitter(CjkAndHangul),
                CollapsedRegexSplitter.DigitRun,
            ],
            cleanSpaces: false),
        ["deepseek-v3"] = new(
            "deepseek-v3",
            [CollapsedRegexSplitter.DigitsUpToThree, new SetRunSplitter(CjkAndKana), CollapsedRegexSplitter.DeepSeek3],
            cleanSpaces: false),
        ["deepseek-coder"] = new(
            "deepseek-coder",
            [LineBreak, CollapsedRegexSplitter.SpaceAndLetters, CollapsedRegexSplitter.SpaceAndPunctuation, new SetRunSplitter(CjkAndHangul), CollapsedRegexSplitter.Digit],
            cleanSpaces: false),
        ["falcon"] = new("falcon", [CollapsedRegexSplitter.FalconPunctuation, Gpt2WordSplitter.Instance, ThreeAsciiDigits]),
        ["mpt"] = new("mpt", [Gpt2WordSplitter.Instance]),
        ["starcoder"] = Starcoder,
        ["refact"] = Starcoder,
        ["command-r"] = new("command-r", [CollapsedRegexSplitter.Digit, Gpt2WordSplitter.Instance], cleanSpaces: false),
        ["smollm"] = new("smollm", [CollapsedRegexSplitter.Digit, Gpt2WordSplitter.Instance], cleanSpaces: false),
        ["codeshell"] = Starcoder,
        ["exaone"] = Starcoder,
        ["minerva-7b"] = Starcoder,
        ["gpt-2"] = Gpt2,
        ["phi-2"] = Gpt2,
        ["jina-es"] = Gpt2,
        ["jina-de"] = Gpt2,
        ["gigachat"] = Gpt2,
        ["jina-v1-en"] = Gpt2,
        ["jina-v2-es"] = Gpt2,
        ["jina-v2-de"] = Gpt2,
        ["jina-v2-code"] = Gpt2,
        ["roberta-bpe"] = Gpt2,
        ["olmo"] = Gpt2,
        ["jais"] = Gpt2,
        ["qwen2"] = Qwen2,
        ["deepseek-r1-qwen"] = Qwen2,
        ["megrez"] = new("megrez", [CollapsedRegexSplitter.Qwen2]),
        ["stablelm2"] = new("stablelm2", [CollapsedRegexSplitter.Qwen2]),
        ["poro-chat"] = new("poro-chat", [BloomWords], cleanSpaces: false),
        ["bloom"] = Bloom,
        ["gpt3-finnish"] = Bloom,
        ["viking"] = new("viking", [BloomWords, CollapsedRegexSplitter.Digit], cleanSpaces: false),
        ["tekken"] = new("tekken", [CollapsedRegexSplitter.Tekken], ignoreMerges: true, defaultAddBos: true, cleanSpaces: false),
        ["chameleon"] = new(
            "chameleon",
            [
                SequenceSplitter.ChameleonSentinel,
                SequenceSplitter.ChameleonImage,
                ChameleonWhitespaceSplitter.Instance,
                CollapsedRegexSplitter.Digit,
                CollapsedRegexSplitter.ChameleonPunctuation,
                Gpt2WordSplitter.Instance,
            ],
            defaultAddBos: true,
            cleanSpaces: false),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private readonly WordSplitStep[] _steps;

    private ByteLevelPreTokenizer(string name, WordSplitStep[] steps, bool ignoreMerges = false, bool defaultAddBos = false, bool cleanSpaces = true, bool defaultBosNone = false)
    {
        Name = name;
        _steps = steps;
        IgnoreMerges = ignoreMerges;
        DefaultAddBos = defaultAddBos;
        CleanSpaces = cleanSpaces;
        DefaultBosNone = defaultBosNone;
    }

    /// <summary>The names <c>tokenizer.ggml.pre</c> may hold, in ordinal order.</summary>
    public static IReadOnlyList<string> SupportedNames { get; } = [.. ByName.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The name of the pre-tokenizer (for aliases, the one they stand for: <c>llama-bpe</c> is <c>llama3</c>).</summary>
    public string Name { get; }

    /// <summary>Whether a word that is a vocabulary token as a whole becomes that token without merging (Llama 3, Tekken).</summary>
    public bool IgnoreMerges { get; }

    /// <summary>Whether the reference adds BOS for this pre-tokenizer when the file does not say (<c>tokenizer.ggml.add_bos_token</c> overrides).</summary>
    public bool DefaultAddBos { get; }

    /// <summary>Whether the reference has no BOS token for this pre-tokenizer unless the file names one (ChatGLM).</summary>
    public bool DefaultBosNone { get; }

    /// <summary>Whether decoding tidies spaces before punctuation (<c>clean_up_tokenization_spaces</c> in the reference).</summary>
    public bool CleanSpaces { get; }

    /// <summary>Gets the pre-tokenizer a <c>tokenizer.ggml.pre</c> value names.</summary>
    /// <param name="name">The value; <see langword="null"/> or empty (the key is absent) means <c>default</c>.</param>
    /// <returns>The pre-tokenizer.</returns>
    /// <exception cref="NotSupportedException">The name is not one the reference runtime knows.</exception>
    public static ByteLevelPreTokenizer ForName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return Default;
        }

        return ByName.TryGetValue(name, out var pre)
            ? pre
            : throw new NotSupportedException(
                $"The GGUF file's tokenizer.ggml.pre is '{name}', a byte-level BPE pre-tokenizer this runtime does not know " +
                $"(nor does the reference runtime it follows). Supported: {string.Join(", ", SupportedNames)}.");
    }

    /// <summary>Cuts <paramref name="text"/> into words.</summary>
    /// <param name="text">The text.</param>
    /// <param name="words">Receives the word lengths in code points, in order; they add up to the text's length.</param>
    /// <param name="scratch">A list this call may use freely.</param>
    public void Split(CodePointText text, List<int> words, List<int> scratch)
    {
        words.Clear();
        if (text.Length == 0)
        {
            return;
        }

        words.Add(text.Length);
        foreach (WordSplitStep step in _steps)
        {
            scratch.Clear();
            int start = 0;
            foreach (int length in words)
            {
                step.Split(text, start, length, scratch);
                start += length;
            }

            words.Clear();
            words.AddRange(scratch);
        }
    }
}
