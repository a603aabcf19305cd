namespace MicroLlm.Kernels;

/// <summary>
/// How a matrix's rows lie in the memory the kernels read (the file's rows, or a model store's relayout of them) and,
/// for Q4_0, which of the reference's two summation orders its outputs keep.
/// </summary>
internal enum WeightLayout
{
    /// <summary>The file's rows, <c>rowBytes</c> apart; Q4_0 summed in <see cref="Q4_0Dot.Dot"/>'s order.</summary>
    Rows,

    /// <summary>The file's rows; Q4_0 summed in the order of the reference's repacked kernels (<see cref="Q4_0Dot.DotSequential"/>).</summary>
    SequentialQ4_0,

    /// <summary>Q4_0 in <see cref="Q4_0SequentialTiles"/>' packed groups of 8 rows, summed in the sequential order.</summary>
    PackedQ4_0,

    /// <summary>
    /// Q4_K, Q5_K, Q6_K or Q8_0 in <see cref="Kernels.RowGroups"/> of 4 rows (each block of the 4 rows side by side); every
    /// output is summed as from the file's rows.
    /// </summary>
    RowGroups,
}
