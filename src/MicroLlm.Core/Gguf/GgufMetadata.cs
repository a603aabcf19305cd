using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace MicroLlm.Gguf;

/// <summary>
/// The key-value metadata of a GGUF file, in file order, with typed getters that say clearly what is missing.
/// </summary>
[SuppressMessage("Naming", "CA1710", Justification = "Named for what it is in the format: the file's metadata.")]
public sealed class GgufMetadata : IReadOnlyDictionary<string, GgufValue>
{
    private readonly List<KeyValuePair<string, GgufValue>> _ordered;
    private readonly Dictionary<string, GgufValue> _byKey;

    internal GgufMetadata(List<KeyValuePair<string, GgufValue>> ordered)
    {
        _ordered = ordered;
        _byKey = new Dictionary<string, GgufValue>(ordered.Count, StringComparer.Ordinal);
        foreach (var kv in ordered)
        {
            _byKey.Add(kv.Key, kv.Value);
        }
    }

    /// <summary>The number of entries.</summary>
    public int Count => _ordered.Count;

    /// <summary>The keys, in file order.</summary>
    public IEnumerable<string> Keys => _ordered.Select(kv => kv.Key);

    /// <summary>The values, in file order.</summary>
    public IEnumerable<GgufValue> Values => _ordered.Select(kv => kv.Value);

    /// <summary>Gets the value of <paramref name="key"/>.</summary>
    /// <param name="key">The key, such as <c>general.architecture</c>.</param>
    /// <returns>The value.</returns>
    /// <exception cref="KeyNotFoundException">The file has no such key.</exception>
    public GgufValue this[string key] => TryGetValue(key, out var v)
        ? v
        : throw new KeyNotFoundException($"The GGUF file has no metadata key '{key}'.");

    /// <summary>Whether the file has <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns><see langword="true"/> if present.</returns>
    public bool ContainsKey(string key) => _byKey.ContainsKey(key);

    /// <summary>Gets the value of <paramref name="key"/> if present.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, when present.</param>
    /// <returns><see langword="true"/> if present.</returns>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out GgufValue value) => _byKey.TryGetValue(key, out value);

    /// <summary>Gets a string value, or <paramref name="defaultValue"/> when the key is absent.</summary>
    /// <param name="key">The key.</param>
    /// <param name="defaultValue">What to return when absent.</param>
    /// <returns>The string.</returns>
    /// <exception cref="InvalidOperationException">The key is present but not a string.</exception>
    [return: NotNullIfNotNull(nameof(defaultValue))]
    public string? GetString(string key, string? defaultValue = null) =>
        TryGetValue(key, out var v) ? WithKey(key, v.AsString) : defaultValue;

    /// <summary>Gets an integer value, or <paramref name="defaultValue"/> when the key is absent.</summary>
    /// <param name="key">The key.</param>
    /// <param name="defaultValue">What to return when absent.</param>
    /// <returns>The integer.</returns>
    /// <exception cref="InvalidOperationException">The key is present but not an integer.</exception>
    public long? GetInt64(string key, long? defaultValue = null) =>
        TryGetValue(key, out var v) ? WithKey(key, v.AsInt64) : defaultValue;

    /// <summary>Gets a numeric value as a float, or <paramref name="defaultValue"/> when the key is absent.</summary>
    /// <param name="key">The key.</param>
    /// <param name="defaultValue">What to return when absent.</param>
    /// <returns>The number.</returns>
    /// <exception cref="InvalidOperationException">The key is present but not a number.</exception>
    public float? GetSingle(string key, float? defaultValue = null) =>
        TryGetValue(key, out var v) ? WithKey(key, v.AsSingle) : defaultValue;

    /// <summary>Gets a boolean value, or <paramref name="defaultValue"/> when the key is absent.</summary>
    /// <param name="key">The key.</param>
    /// <param name="defaultValue">What to return when absent.</param>
    /// <returns>The boolean.</returns>
    /// <exception cref="InvalidOperationException">The key is present but not a boolean.</exception>
    public bool? GetBoolean(string key, bool? defaultValue = null) =>
        TryGetValue(key, out var v) ? WithKey(key, v.AsBoolean) : defaultValue;

    /// <summary>Gets the value of a key the caller needs.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidDataException">The file lacks the key; the message names it.</exception>
    public GgufValue GetRequired(string key) => TryGetValue(key, out var v)
        ? v
        : throw new InvalidDataException($"The GGUF file lacks the metadata key '{key}', which is required here. Is this a complete model file?");

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, GgufValue>> GetEnumerator() => _ordered.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static T WithKey<T>(string key, Func<T> get)
    {
        try
        {
            return get();
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"Metadata key '{key}': {e.Message}", e);
        }
    }
}
