namespace MicroLlm.Tokenization.Bpe;

/// <summary>
/// The classes the reference runtime's pre-tokenizers test a code point for: exactly one general-category
/// group (<c>\p{L}</c>, <c>\p{N}</c>, …) plus, independently, <see cref="Whitespace"/>.
/// <see cref="None"/> stands for "no code point" (a position outside the text being split).
/// </summary>
[Flags]
internal enum CodePointClass : ushort
{
    /// <summary>No code point: the position is outside the text being split.</summary>
    None = 0,

    /// <summary>Unassigned in the reference runtime's Unicode version (Cn).</summary>
    Unassigned = 0x0001,

    /// <summary>A number (Nd, Nl, No): <c>\p{N}</c>.</summary>
    Number = 0x0002,

    /// <summary>A letter (Lu, Ll, Lt, Lm, Lo): <c>\p{L}</c>.</summary>
    Letter = 0x0004,

    /// <summary>A separator (Zs, Zl, Zp): <c>\p{Z}</c>.</summary>
    Separator = 0x0008,

    /// <summary>A mark (Mn, Mc, Me): <c>\p{M}</c>.</summary>
    Mark = 0x0010,

    /// <summary>Punctuation (Pc, Pd, Ps, Pe, Pi, Pf, Po): <c>\p{P}</c>.</summary>
    Punctuation = 0x0020,

    /// <summary>A symbol (Sm, Sc, Sk, So): <c>\p{S}</c>.</summary>
    Symbol = 0x0040,

    /// <summary>Control, format, private use or surrogate (Cc, Cf, Co, Cs): <c>\p{C}</c>.</summary>
    Other = 0x0080,

    /// <summary>The Unicode <c>White_Space</c> property: <c>\s</c> in the reference's splitters.</summary>
    Whitespace = 0x0100,

    /// <summary>All the general-category bits (everything but <see cref="Whitespace"/>).</summary>
    CategoryMask = 0x00FF,
}
