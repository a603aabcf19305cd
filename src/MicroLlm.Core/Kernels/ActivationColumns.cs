namespace MicroLlm.Kernels;

/// <summary>How many activation vectors a batched kernel's inner loop takes at once, as a type, so the JIT compiles
/// one body per count with the untaken branches removed.</summary>
internal interface IActivationColumns
{
    /// <summary>The number of activation vectors.</summary>
    static abstract int Count { get; }
}

/// <summary>One activation vector (the batch's remainder).</summary>
internal struct OneColumn : IActivationColumns
{
    public static int Count => 1;
}

/// <summary>Four activation vectors per pass over the weights.</summary>
internal struct FourColumns : IActivationColumns
{
    public static int Count => 4;
}
