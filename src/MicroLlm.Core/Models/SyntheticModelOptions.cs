namespace MicroLlm.Models;

/// <summary>What <see cref="SyntheticModel.WriteAsync(SyntheticModelOptions, Stream, CancellationToken)"/> writes.</summary>
/// <remarks>The same options (and the same vocabulary file) always give the same bytes, whatever the machine and
/// <see cref="MaxDegreeOfParallelism"/>.</remarks>
public sealed class SyntheticModelOptions
{
    /// <summary>Creates options for a shape, with F16 matrices, seed 1 and the built-in vocabulary.</summary>
    /// <param name="shape">The architecture and hyperparameters, e.g. <see cref="SyntheticModelShape.TinyLlama"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="shape"/> is null.</exception>
    public SyntheticModelOptions(SyntheticModelShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Shape = shape;
    }

    /// <summary>The architecture and hyperparameters.</summary>
    public SyntheticModelShape Shape { get; set; }

    /// <summary>The tensor types; F16 by default.</summary>
    public SyntheticModelFileType FileType { get; set; } = SyntheticModelFileType.F16;

    /// <summary>The seed of the weights. The same seed gives the same underlying weights at every <see cref="FileType"/>
    /// (each then stored in its type), so an F16 and a Q4_K_M file of one seed are one model at two precisions.</summary>
    public ulong Seed { get; set; } = 1;

    /// <summary>
    /// A GGUF file (a vocabulary-only file or a model) whose <c>tokenizer.*</c> metadata is copied, and whose token count
    /// sets the vocabulary size; <see langword="null"/> (the default) for the built-in vocabulary: SentencePiece-style,
    /// <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, the 256 byte tokens, <c>▁</c> (a space), then unused tokens up to
    /// <see cref="SyntheticModelShape.VocabularySize"/>, so that any text tokenizes (as bytes).
    /// </summary>
    public string? VocabularyPath { get; set; }

    /// <summary>How many threads generate and quantize rows; <see langword="null"/> (the default) for every core. The
    /// bytes written do not depend on it.</summary>
    public int? MaxDegreeOfParallelism { get; set; }

    /// <summary>A copy of these options.</summary>
    /// <returns>The copy.</returns>
    public SyntheticModelOptions Clone() => new(Shape)
    {
        FileType = FileType,
        Seed = Seed,
        VocabularyPath = VocabularyPath,
        MaxDegreeOfParallelism = MaxDegreeOfParallelism,
    };
}
