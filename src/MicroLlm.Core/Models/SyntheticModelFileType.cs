using System.Diagnostics.CodeAnalysis;

namespace MicroLlm.Models;

/// <summary>
/// The tensor types of a synthetic model, named as the reference runtime's quantizer names its file types. Matrices get
/// the type, except where that quantizer picks another for a tensor (the K-quant mixes, the output matrix);
/// norms and biases stay F32.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "The names follow the reference quantizer's file types (Q4_K_M).")]
public enum SyntheticModelFileType
{
    /// <summary>Every tensor F32.</summary>
    F32,

    /// <summary>Matrices F16.</summary>
    F16,

    /// <summary>Matrices BF16.</summary>
    BF16,

    /// <summary>Matrices Q8_0.</summary>
    Q8_0,

    /// <summary>Matrices Q4_0; the output matrix Q6_K (Q8_0 where its rows are not whole 256-blocks), as the reference's quantizer does.</summary>
    Q4_0,

    /// <summary>
    /// The reference's Q4_K_M mix: Q4_K, with Q6_K for the output matrix and for <c>attn_v</c> and <c>ffn_down</c> in
    /// the layers its <c>use_more_bits</c> picks (the first and last eighth and every third between), Q5_K for phi3's
    /// fused <c>attn_qkv</c>; rows that are not whole 256-blocks fall back to Q5_0 (Q8_0 for Q6_K).
    /// </summary>
    Q4_K_M,

    /// <summary>The reference's Q5_K_M mix: Q5_K, with Q6_K where Q4_K_M has Q6_K and for phi3's <c>attn_qkv</c>; fallbacks Q5_1 and Q8_0.</summary>
    Q5_K_M,

    /// <summary>Matrices Q6_K (fallback Q8_0).</summary>
    Q6_K,
}
