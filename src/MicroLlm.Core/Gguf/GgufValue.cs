using System.Globalization;

namespace MicroLlm.Gguf;

/// <summary>
/// One metadata value of a GGUF file: a scalar, a string, or an array of one element type.
/// The exact stored type is kept so that a file written back is identical.
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    private readonly object _value;

    private GgufValue(GgufValueType type, GgufValueType elementType, object value)
    {
        Type = type;
        ElementType = elementType;
        _value = value;
    }

    /// <summary>The stored type.</summary>
    public GgufValueType Type { get; }

    /// <summary>For an <see cref="GgufValueType.Array"/>, the type of its elements; otherwise the same as <see cref="Type"/>.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>Whether this value is an array.</summary>
    public bool IsArray => Type == GgufValueType.Array;

    /// <summary>The number of elements of an array; 1 for a scalar or string.</summary>
    public int Length => IsArray ? ((Array)_value).Length : 1;

    /// <summary>Creates an unsigned 8-bit value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(byte value) => new(GgufValueType.UInt8, GgufValueType.UInt8, value);
    /// <summary>Creates a signed 8-bit value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(sbyte value) => new(GgufValueType.Int8, GgufValueType.Int8, value);
    /// <summary>Creates an unsigned 16-bit value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(ushort value) => new(GgufValueType.UInt16, GgufValueType.UInt16, value);
    /// <summary>Creates a signed 16-bit value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(short value) => new(GgufValueType.Int16, GgufValueType.Int16, value);
    /// <summary>Creates an unsigned 32-bit value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(uint value) => new(GgufValueType.UInt32, GgufValueType.UInt32, value);
    /// <summary>Creates a signed 32-bit value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(int value) => new(GgufValueType.Int32, GgufValueType.Int32, value);
    /// <summary>Creates an unsigned 64-bit value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(ulong value) => new(GgufValueType.UInt64, GgufValueType.UInt64, value);
    /// <summary>Creates a signed 64-bit value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(long value) => new(GgufValueType.Int64, GgufValueType.Int64, value);
    /// <summary>Creates a 32-bit float value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(float value) => new(GgufValueType.Float32, GgufValueType.Float32, value);
    /// <summary>Creates a 64-bit float value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(double value) => new(GgufValueType.Float64, GgufValueType.Float64, value);
    /// <summary>Creates a boolean value.</summary><param name="value">The value.</param><returns>The metadata value.</returns>
    public static GgufValue From(bool value) => new(GgufValueType.Bool, GgufValueType.Bool, value);

    /// <summary>Creates a string value.</summary>
    /// <param name="value">The string; it is stored as UTF-8.</param>
    /// <returns>The metadata value.</returns>
    public static GgufValue From(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(GgufValueType.String, GgufValueType.String, value);
    }

    /// <summary>
    /// Creates an array value. <typeparamref name="T"/> must be one of the element types the format has:
    /// <see cref="byte"/>, <see cref="sbyte"/>, <see cref="ushort"/>, <see cref="short"/>, <see cref="uint"/>, <see cref="int"/>,
    /// <see cref="ulong"/>, <see cref="long"/>, <see cref="float"/>, <see cref="double"/>, <see cref="bool"/> or <see cref="string"/>.
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="values">The elements; the array is copied.</param>
    /// <returns>The metadata value.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> is not an element type of the format, or a string element is null.</exception>
    public static GgufValue FromArray<T>(ReadOnlySpan<T> values)
    {
        GgufValueType elementType = ElementTypeOf(typeof(T))
            ?? throw new ArgumentException($"{typeof(T).Name} is not a GGUF array element type.", nameof(values));
        T[] copy = values.ToArray();
        if (copy is string[] strings && Array.IndexOf(strings, null) >= 0)
        {
            throw new ArgumentException("A GGUF string array cannot hold null.", nameof(values));
        }

        return new(GgufValueType.Array, elementType, copy);
    }

    internal static GgufValue Scalar(GgufValueType type, object value) => new(type, type, value);

    internal static GgufValue ArrayOf(GgufValueType elementType, Array values) => new(GgufValueType.Array, elementType, values);

    internal object RawValue => _value;

    /// <summary>Gets a string value.</summary>
    /// <returns>The string.</returns>
    /// <exception cref="InvalidOperationException">The value is not a string.</exception>
    public string AsString() => _value as string ?? throw WrongType("a string");

    /// <summary>Gets a boolean value.</summary>
    /// <returns>The boolean.</returns>
    /// <exception cref="InvalidOperationException">The value is not a boolean.</exception>
    public bool AsBoolean() => _value is bool b ? b : throw WrongType("a boolean");

    /// <summary>Gets any integer value as a 64-bit signed integer.</summary>
    /// <returns>The integer.</returns>
    /// <exception cref="InvalidOperationException">The value is not an integer, or is an unsigned 64-bit value above <see cref="long.MaxValue"/>.</exception>
    public long AsInt64() => _value switch
    {
        byte v => v,
        sbyte v => v,
        ushort v => v,
        short v => v,
        uint v => v,
        int v => v,
        long v => v,
        ulong v when v <= long.MaxValue => (long)v,
        _ => throw WrongType("an integer that fits in 64 signed bits"),
    };

    /// <summary>Gets any integer value as a 32-bit signed integer.</summary>
    /// <returns>The integer.</returns>
    /// <exception cref="InvalidOperationException">The value is not an integer or does not fit in 32 signed bits.</exception>
    public int AsInt32()
    {
        long v = AsInt64();
        return v is >= int.MinValue and <= int.MaxValue ? (int)v : throw WrongType("an integer that fits in 32 signed bits");
    }

    /// <summary>Gets any numeric value (float or integer) as a double.</summary>
    /// <returns>The number.</returns>
    /// <exception cref="InvalidOperationException">The value is not numeric.</exception>
    public double AsDouble() => _value switch
    {
        float f => f,
        double d => d,
        ulong u => u,
        byte or sbyte or ushort or short or uint or int or long => AsInt64(),
        _ => throw WrongType("a number"),
    };

    /// <summary>Gets any numeric value as a float.</summary>
    /// <returns>The number, rounded to single precision.</returns>
    /// <exception cref="InvalidOperationException">The value is not numeric.</exception>
    public float AsSingle() => _value is float f ? f : (float)AsDouble();

    /// <summary>Gets the elements of an array whose element type is exactly <typeparamref name="T"/>, without copying.</summary>
    /// <typeparam name="T">The element type, such as <see cref="string"/> for <see cref="GgufValueType.String"/>.</typeparam>
    /// <returns>The elements.</returns>
    /// <exception cref="InvalidOperationException">The value is not an array of <typeparamref name="T"/>.</exception>
    public ReadOnlySpan<T> AsSpan<T>() => _value is T[] a ? a : throw WrongType($"an array of {typeof(T).Name}");

    /// <summary>Gets an array of strings.</summary>
    /// <returns>The strings, as stored (a shared array: do not modify it).</returns>
    /// <exception cref="InvalidOperationException">The value is not an array of strings.</exception>
    public IReadOnlyList<string> AsStringArray() => _value as string[] ?? throw WrongType("an array of strings");

    /// <summary>Gets an array of any numeric element type as floats.</summary>
    /// <returns>A new array.</returns>
    /// <exception cref="InvalidOperationException">The value is not a numeric array.</exception>
    public float[] ToSingleArray() => _value switch
    {
        float[] f => (float[])f.Clone(),
        double[] d => Array.ConvertAll(d, x => (float)x),
        Array a when IsArray && ElementType is not (GgufValueType.String or GgufValueType.Bool) => ConvertIntegers(a, x => (float)x),
        _ => throw WrongType("a numeric array"),
    };

    /// <summary>Gets an array of any integer element type as 32-bit integers.</summary>
    /// <returns>A new array.</returns>
    /// <exception cref="InvalidOperationException">The value is not an integer array, or an element does not fit in 32 signed bits.</exception>
    public int[] ToInt32Array() => _value switch
    {
        int[] i => (int[])i.Clone(),
        Array a when IsArray && ElementType is not (GgufValueType.String or GgufValueType.Bool or GgufValueType.Float32 or GgufValueType.Float64) =>
            ConvertIntegers(a, x => x is >= int.MinValue and <= int.MaxValue ? (int)x : throw WrongType("an array of integers that fit in 32 signed bits")),
        _ => throw WrongType("an integer array"),
    };

    /// <summary>A short human-readable form: the value, or for arrays the element type and the first elements.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
    {
        if (!IsArray)
        {
            return _value switch
            {
                string s => s,
                bool b => b ? "true" : "false",
                float f => f.ToString("R", CultureInfo.InvariantCulture),
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                _ => Convert.ToString(_value, CultureInfo.InvariantCulture) ?? string.Empty,
            };
        }

        var a = (Array)_value;
        var shown = new List<string>();
        for (int i = 0; i < Math.Min(a.Length, 8); i++)
        {
            object? e = a.GetValue(i);
            shown.Add(e is string s ? $"\"{s}\"" : Convert.ToString(e, CultureInfo.InvariantCulture) ?? string.Empty);
        }

        string more = a.Length > 8 ? ", ..." : string.Empty;
        return $"[{ElementType.ToString().ToLowerInvariant()} x {a.Length}] [{string.Join(", ", shown)}{more}]";
    }

    /// <inheritdoc/>
    public bool Equals(GgufValue? other)
    {
        if (other is null || other.Type != Type || other.ElementType != ElementType)
        {
            return false;
        }

        if (!IsArray)
        {
            return _value.Equals(other._value);
        }

        var a = (Array)_value;
        var b = (Array)other._value;
        if (a.Length != b.Length)
        {
            return false;
        }

        for (int i = 0; i < a.Length; i++)
        {
            if (!Equals(a.GetValue(i), b.GetValue(i)))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as GgufValue);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Type, ElementType, IsArray ? ((Array)_value).Length : _value.GetHashCode());

    private static T[] ConvertIntegers<T>(Array a, Func<long, T> convert)
    {
        var result = new T[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            object e = a.GetValue(i)!;
            long v = e is ulong u ? (u <= long.MaxValue ? (long)u : long.MaxValue) : Convert.ToInt64(e, CultureInfo.InvariantCulture);
            result[i] = convert(v);
        }

        return result;
    }

    internal static GgufValueType? ElementTypeOf(Type t) =>
        t == typeof(byte) ? GgufValueType.UInt8 :
        t == typeof(sbyte) ? GgufValueType.Int8 :
        t == typeof(ushort) ? GgufValueType.UInt16 :
        t == typeof(short) ? GgufValueType.Int16 :
        t == typeof(uint) ? GgufValueType.UInt32 :
        t == typeof(int) ? GgufValueType.Int32 :
        t == typeof(ulong) ? GgufValueType.UInt64 :
        t == typeof(long) ? GgufValueType.Int64 :
        t == typeof(float) ? GgufValueType.Float32 :
        t == typeof(double) ? GgufValueType.Float64 :
        t == typeof(bool) ? GgufValueType.Bool :
        t == typeof(string) ? GgufValueType.String :
        null;

    private InvalidOperationException WrongType(string wanted)
    {
        string actual = IsArray ? $"an array of {ElementType}" : Type.ToString();
        return new InvalidOperationException($"The metadata value is {actual}, not {wanted}.");
    }
}
