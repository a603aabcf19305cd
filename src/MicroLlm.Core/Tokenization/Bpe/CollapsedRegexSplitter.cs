using System.Text.RegularExpressions;

namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// A pre-tokenizer stage given by a regular expression that names Unicode classes, matched the way the reference
/// runtime matches it: against <see cref="CodePointText.Collapsed"/>, where every code point outside ASCII is the
/// stand-in of its class, so <c>\p{L}</c> is <c>[\u00D2A-Za-z]</c> and <c>\s</c> is the six ASCII white-space
/// characters (the stand-in for other white space is the vertical tab). Each of <see cref="Patterns"/> is that
/// rewriting of one of the reference's expressions.
/// </summary>
internal sealed partial class CollapsedRegexSplitter : WordSplitStep
{
    private readonly Regex _regex;

    private CollapsedRegexSplitter(Regex regex) => _regex = regex;

    /// <summary><c>\p{N}</c>: every number alone.</summary>
    public static CollapsedRegexSplitter Digit { get; } = new(Patterns.Digit());

    /// <summary><c>\p{N}+</c>: runs of numbers.</summary>
    public static CollapsedRegexSplitter DigitRun { get; } = new(Patterns.DigitRun());

    /// <summary><c>\p{N}{1,3}</c>: runs of numbers in pieces of up to three.</summary>
    public static CollapsedRegexSplitter DigitsUpToThree { get; } = new(Patterns.DigitsUpToThree());

    /// <summary><c>[\p{P}\$\+&lt;=&gt;\^~\|]+</c>: the first stage of the default pre-tokenizer.</summary>
    public static CollapsedRegexSplitter DefaultPunctuation { get; } = new(Patterns.DefaultPunctuation());

    /// <summary><c>[\p{P}\$\+&lt;=&gt;\^~\|`]+</c>: the first stage of Falcon.</summary>
    public static CollapsedRegexSplitter FalconPunctuation { get; } = new(Patterns.FalconPunctuation());

    /// <summary>Qwen 2's expression: Llama 3's with single digits instead of runs of three.</summary>
    public static CollapsedRegexSplitter Qwen2 { get; } = new(Patterns.Qwen2());

    /// <summary><c>\s?\p{L}+</c> (DeepSeek Coder).</summary>
    public static CollapsedRegexSplitter SpaceAndLetters { get; } = new(Patterns.SpaceAndLetters());

    /// <summary><c>\s?\p{P}+</c> (DeepSeek Coder).</summary>
    public static CollapsedRegexSplitter SpaceAndPunctuation { get; } = new(Patterns.SpaceAndPunctuation());

    /// <summary>DeepSeek V3's main expression.</summary>
    public static CollapsedRegexSplitter DeepSeek3 { get; } = new(Patterns.DeepSeek3());

    /// <summary>Tekken's expression (Mistral Nemo): letters in case runs.</summary>
    public static CollapsedRegexSplitter Tekken { get; } = new(Patterns.Tekken());

    /// <summary><c>[\p{P}!-/:-@\[-`{-~]</c>: every punctuation character alone (Chameleon).</summary>
    public static CollapsedRegexSplitter ChameleonPunctuation { get; } = new(Patterns.ChameleonPunctuation());

    /// <inheritdoc/>
    public override void Split(CodePointText text, int start, int length, List<int> pieces)
    {
        int done = 0;
        foreach (ValueMatch match in _regex.EnumerateMatches(text.Collapsed.Slice(start, length)))
        {
            Add(pieces, match.Index - done);
            Add(pieces, match.Length);
            done = match.Index + match.Length;
        }

        Add(pieces, length - done);
    }

    /// <summary>The reference's expressions, rewritten for the collapsed spelling.</summary>
    internal static partial class Patterns
    {
        // Character-class bodies for the collapsed spelling: a stand-in plus the ASCII members of the class.
        private const string N = @"\u00D10-9";
        private const string L = @"\u00D2A-Za-z";
        private const string P = @"\u00D3!-#%-*,-/:;?@\[-\]_{}";
        private const string M = @"\u00D4";
        private const string S = @"\u00D5$+<->^`|";
        private const string Space = @"\t\n\v\f\r ";

        // \s+(?!\S)|\s+ and the line-break alternatives shared by the Llama 3 family.
        private const string WhitespaceTail = "|[" + Space + "]*[\r\n]+|[" + Space + "]+(?![^" + Space + "])|[" + Space + "]+";

        private const string Contractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

        /// <summary><c>\p{N}</c>.</summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex("[" + N + "]", RegexOptions.CultureInvariant)]
        internal static partial Regex Digit();

        /// <summary><c>\p{N}+</c>.</summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex("[" + N + "]+", RegexOptions.CultureInvariant)]
        internal static partial Regex DigitRun();

        /// <summary><c>\p{N}{1,3}</c>.</summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex("[" + N + "]{1,3}", RegexOptions.CultureInvariant)]
        internal static partial Regex DigitsUpToThree();

        /// <summary><c>[\p{P}\$\+&lt;=&gt;\^~\|]+</c>.</summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex("[" + P + "$+<=>^~|]+", RegexOptions.CultureInvariant)]
        internal static partial Regex DefaultPunctuation();

        /// <summary><c>[\p{P}\$\+&lt;=&gt;\^~\|`]+</c>.</summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex("[" + P + "$+<=>^~|`]+", RegexOptions.CultureInvariant)]
        internal static partial Regex FalconPunctuation();

        /// <summary>
        /// <c>(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
        /// </summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex(Contractions + "|[^\r\n" + L + N + "]?[" + L + "]+|[" + N + "]| ?[^" + Space + L + N + "]+[\r\n]*" + WhitespaceTail, RegexOptions.CultureInvariant)]
        internal static partial Regex Qwen2();

        /// <summary><c>\s?\p{L}+</c>.</summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex("[" + Space + "]?[" + L + "]+", RegexOptions.CultureInvariant)]
        internal static partial Regex SpaceAndLetters();

        /// <summary><c>\s?\p{P}+</c>.</summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex("[" + Space + "]?[" + P + "]+", RegexOptions.CultureInvariant)]
        internal static partial Regex SpaceAndPunctuation();

        /// <summary>
        /// <c>[!"#$%&amp;'()*+,\-./:;&lt;=&gt;?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
        /// </summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex(@"[!-/:-@\[-`{-~][A-Za-z]+|[^" + "\r\n" + L + P + S + "]?[" + L + M + "]+| ?[" + P + S + "]+[\r\n]*" + WhitespaceTail, RegexOptions.CultureInvariant)]
        internal static partial Regex DeepSeek3();

        /// <summary>
        /// <c>[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
        /// </summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex(
            "[^\r\n" + L + N + "]?(?:(?=[" + L + "])[^a-z])*(?:(?=[" + L + "])[^A-Z])+"
            + "|[^\r\n" + L + N + "]?(?:(?=[" + L + "])[^a-z])+(?:(?=[" + L + "])[^A-Z])*"
            + "|[" + N + "]| ?[^" + Space + L + N + "]+[\r\n/]*" + WhitespaceTail,
            RegexOptions.CultureInvariant)]
        internal static partial Regex Tekken();

        /// <summary><c>[\p{P}!-/:-@\[-`{-~]</c>.</summary>
        /// <returns>The expression.</returns>
        [GeneratedRegex("[" + P + @"!-/:-@\[-`{-~]", RegexOptions.CultureInvariant)]
        internal static partial Regex ChameleonPunctuation();
    }
}
