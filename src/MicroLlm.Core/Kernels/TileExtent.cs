namespace MicroLlm.Kernels;

/// <summary>
/// A tile's number of rows or activation vectors, as a type, so the JIT compiles one body per size with the untaken
/// branches removed (every tiled kernel: <see cref="FloatTiles"/>, <see cref="Q8_0Tiles"/>, the K-quant tiles, the
/// Q4_0 tiles and panels).
/// </summary>
internal interface ITileExtent
{
    /// <summary>The size.</summary>
    static abstract int Count { get; }
}

/// <summary>1.</summary>
internal struct Extent1 : ITileExtent
{
    public static int Count => 1;
}

/// <summary>2.</summary>
internal struct Extent2 : ITileExtent
{
    public static int Count => 2;
}

/// <summary>3.</summary>
internal struct Extent3 : ITileExtent
{
    public static int Count => 3;
}

/// <summary>4.</summary>
internal struct Extent4 : ITileExtent
{
    public static int Count => 4;
}

/// <summary>5.</summary>
internal struct Extent5 : ITileExtent
{
    public static int Count => 5;
}

/// <summary>6.</summary>
internal struct Extent6 : ITileExtent
{
    public static int Count => 6;
}
