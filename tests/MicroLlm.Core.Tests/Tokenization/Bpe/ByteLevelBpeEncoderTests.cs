using System.Text;
using MicroLlm.Gguf;
using MicroLlm.Tokenization;
using MicroLlm.Tokenization.Bpe;

namespace MicroLlm.Tests.Tokenization.Bpe;

/// <summary>The merge engine, token bytes and validation, on vocabularies small enough to reason about by hand.</summary>
[TestFixture]
public sealed class ByteLevelBpeEncoderTests
{
    // Ġ is the byte-level spelling of the space.
    private static readonly string[] Letters = ["a", "b", "c", "h", "i", "Ġ"];

    [Test]
    public void Merges_the_lowest_rank_first()
    {
        // (b,c) outranks (a,b): "abc" becomes a+bc, then abc.
        var v = Vocabulary([.. Letters, "ab", "bc", "abc"], ["b c", "a b", "a bc"]);

        Assert.That(Encode(v, "abc"), Is.EqualTo(new[] { Id(v, "abc") }));
    }

    [Test]
    public void Merges_the_leftmost_pair_among_equal_ranks()
    {
        var v = Vocabulary([.. Letters, "aa"], ["a a"]);

        Assert.That(Encode(v, "aaa"), Is.EqualTo(new[] { Id(v, "aa"), Id(v, "a") }));
        Assert.That(Encode(v, "aaaa"), Is.EqualTo(new[] { Id(v, "aa"), Id(v, "aa") }));
    }

    [Test]
    public void The_first_of_duplicate_merges_sets_the_rank()
    {
        // "a b" appears at ranks 0 and 2; at rank 0 it beats "b c" (rank 1).
        var v = Vocabulary([.. Letters, "ab", "bc"], ["a b", "b c", "a b"]);

        Assert.That(Encode(v, "abc"), Is.EqualTo(new[] { Id(v, "ab"), Id(v, "c") }));
    }

    [Test]
    public void A_merged_piece_missing_from_the_vocabulary_falls_back_to_its_ascii_characters()
    {
        // "ab" is merged but is not a token: the reference emits the tokens of its single ASCII characters.
        var v = Vocabulary(Letters, ["a b"]);

        Assert.That(Encode(v, "abc"), Is.EqualTo(new[] { Id(v, "a"), Id(v, "b"), Id(v, "c") }));
    }

    [Test]
    public void A_byte_without_a_token_is_dropped_as_the_reference_drops_it()
    {
        // "é" is C3 A9, written Ã©; neither is a token of this vocabulary.
        var v = Vocabulary(Letters, ["a b"]);

        Assert.That(Encode(v, "aéb"), Is.EqualTo(new[] { Id(v, "a"), Id(v, "b") }));
    }

    [Test]
    public void Llama3_takes_a_whole_word_that_is_a_token_without_merging()
    {
        // No merge makes "hi", but llama-bpe looks the whole word up first (ignore_merges); gpt-2 does not.
        string[] tokens = [.. Letters, "hi"];

        Assert.That(Encode(Vocabulary(tokens, ["a b"], pre: "llama-bpe"), "hi"), Is.EqualTo(new[] { 6 }));
        Assert.That(Encode(Vocabulary(tokens, ["a b"], pre: "gpt-2"), "hi"), Is.EqualTo(new[] { 3, 4 }));
    }

    [Test]
    public void Words_are_cut_before_merging()
    {
        // gpt-2 splits " hi" from "a": the space joins the word after it.
        var v = Vocabulary([.. Letters, "Ġh", "Ġhi"], ["Ġ h", "Ġh i"]);

        Assert.That(Encode(v, "a hi"), Is.EqualTo(new[] { Id(v, "a"), Id(v, "Ġhi") }));
    }

    [Test]
    public void Repeated_words_give_the_same_ids_through_the_cache()
    {
        var v = Vocabulary([.. Letters, "ab", "Ġab"], ["a b", "Ġ ab"]);
        var encoder = new ByteLevelBpeEncoder(v);
        var ids = new List<int>();

        encoder.Encode("ab ab ab", true, ids);
        encoder.Encode("ab ab ab", true, ids);

        int ab = Id(v, "ab"), spaceAb = Id(v, "Ġab");
        Assert.That(ids, Is.EqualTo(new[] { ab, spaceAb, spaceAb, ab, spaceAb, spaceAb }));
    }

    [Test]
    public void Empty_text_gives_no_ids()
    {
        Assert.That(Encode(Vocabulary(Letters, ["a b"]), ""), Is.Empty);
    }

    [Test]
    public void Token_bytes_follow_the_reference_rendering()
    {
        var v = Vocabulary(
            ["Ġhi", "<|endoftext|>", "  ", "unused", "中", "Ċ", ""],
            ["Ġ h"],
            types: [GgufTokenType.Normal, GgufTokenType.Control, GgufTokenType.UserDefined, GgufTokenType.Unused, GgufTokenType.Normal, GgufTokenType.Normal, GgufTokenType.Normal]);
        var encoder = new ByteLevelBpeEncoder(v);

        Assert.Multiple(() =>
        {
            Assert.That(Text(encoder, 0), Is.EqualTo(" hi"), "normal: read back through the byte-level alphabet");
            Assert.That(Text(encoder, 1), Is.EqualTo("<|endoftext|>"), "control: its text as is");
            Assert.That(Text(encoder, 2), Is.EqualTo("  "), "user-defined: its text as is");
            Assert.That(encoder.TokenBytes(3).ToArray(), Is.Empty, "unused: nothing");
            Assert.That(Text(encoder, 4), Is.EqualTo("[UNK_BYTE_0xe4b8ad中]"), "a character outside the alphabet: the reference's marker");
            Assert.That(Text(encoder, 5), Is.EqualTo("\n"));
            Assert.That(Text(encoder, 6), Is.EqualTo("[EMPTY_6]"), "the reference renames empty pieces");
        });
    }

    [Test]
    public void A_merge_without_a_separating_space_is_invalid_data([Values("ab", "a ", "", " ", "x")] string line)
    {
        var v = Vocabulary(Letters, ["a b", line]);

        var e = Assert.Throws<InvalidDataException>(() => _ = new ByteLevelBpeEncoder(v));
        Assert.That(e!.Message, Does.Contain("tokenizer.ggml.merges[1]"));
    }

    [Test]
    public void A_merge_whose_first_piece_starts_with_a_space_is_split_after_it()
    {
        // As in the reference, the separator is searched from the second character on.
        Assert.DoesNotThrow(() => _ = new ByteLevelBpeEncoder(Vocabulary(Letters, [" a b"])));
    }

    [Test]
    public void Missing_merges_are_invalid_data()
    {
        var e = Assert.Throws<InvalidDataException>(() => _ = new ByteLevelBpeEncoder(Vocabulary(Letters, [])));
        Assert.That(e!.Message, Does.Contain("tokenizer.ggml.merges"));
    }

    [Test]
    public void An_unknown_pre_tokenizer_is_not_supported_and_the_message_lists_the_known_ones()
    {
        var e = Assert.Throws<NotSupportedException>(() => _ = new ByteLevelBpeEncoder(Vocabulary(Letters, ["a b"], pre: "my-new-model")));
        Assert.That(e!.Message, Does.Contain("'my-new-model'").And.Contain("llama-bpe").And.Contain("qwen2"));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("default")]
    public void A_missing_or_empty_pre_tokenizer_means_default(string? pre)
    {
        var encoder = new ByteLevelBpeEncoder(Vocabulary(Letters, ["a b"], pre: pre));

        Assert.That(encoder.PreTokenizer.Name, Is.EqualTo("default"));
    }

    [Test]
    public void Only_gpt2_vocabularies_are_accepted()
    {
        Assert.Throws<ArgumentException>(() => _ = new ByteLevelBpeEncoder(Vocabulary(Letters, ["a b"], model: "llama")));
    }

    [Test]
    public void The_byte_level_alphabet_is_a_bijection_with_the_known_spellings()
    {
        var chars = new HashSet<char>();
        for (int b = 0; b < 256; b++)
        {
            char c = ByteLevelAlphabet.ToChar((byte)b);
            chars.Add(c);
            Assert.That(ByteLevelAlphabet.TryGetByte(c, out byte back) && back == b, $"byte {b:X2}");
        }

        Assert.Multiple(() =>
        {
            Assert.That(chars, Has.Count.EqualTo(256));
            Assert.That(ByteLevelAlphabet.ToChar((byte)' '), Is.EqualTo('\u0120'));
            Assert.That(ByteLevelAlphabet.ToChar((byte)'\n'), Is.EqualTo('\u010A'));
            Assert.That(ByteLevelAlphabet.ToChar(0xAD), Is.EqualTo('\u0143'));
            Assert.That(ByteLevelAlphabet.ToChar((byte)'A'), Is.EqualTo('A'));
            Assert.That(ByteLevelAlphabet.TryGetByte(' ', out _), Is.False);
        });
    }

    [Test]
    public void Lone_surrogates_encode_as_the_replacement_character()
    {
        // UTF-8 has no lone surrogates; the text reaches the reference as U+FFFD (EF BF BD).
        var v = Vocabulary([.. Letters, "ï", "¿", "½"], ["a b"]);

        Assert.That(Encode(v, "a\uD800"), Is.EqualTo(Encode(v, "a\uFFFD")));
        Assert.That(Encode(v, "a\uFFFD"), Is.EqualTo(new[] { Id(v, "a"), Id(v, "ï"), Id(v, "¿"), Id(v, "½") }));
    }

    [Test]
    public void Long_inputs_encode_in_near_linear_time()
    {
        // One 200 000-byte word (a long merge queue) and long runs of white space and digits.
        var v = Vocabulary([.. Letters, "aa", "aaaa"], ["a a", "aa aa"]);
        var encoder = new ByteLevelBpeEncoder(v);
        string text = new string('a', 200_000) + new string(' ', 100_000) + string.Concat(Enumerable.Repeat("ab 12 ", 20_000));
        var ids = new List<int>();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        encoder.Encode(text, true, ids);

        Assert.That(ids.Take(50_000), Is.All.EqualTo(Id(v, "aaaa")));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "quadratic behaviour somewhere");
    }

    internal static GgufVocabulary Vocabulary(string[] tokens, string[] merges, string? pre = "gpt-2", string model = "gpt2", GgufTokenType[]? types = null)
    {
        var entries = new List<KeyValuePair<string, GgufValue>>
        {
            new("tokenizer.ggml.model", GgufValue.From(model)),
            new("tokenizer.ggml.tokens", GgufValue.FromArray<string>(tokens)),
            new("tokenizer.ggml.token_type", GgufValue.FromArray<int>(Array.ConvertAll(types ?? Enumerable.Repeat(GgufTokenType.Normal, tokens.Length).ToArray(), t => (int)t))),
        };
        if (merges.Length > 0)
        {
            entries.Add(new("tokenizer.ggml.merges", GgufValue.FromArray<string>(merges)));
        }

        if (pre is not null)
        {
            entries.Add(new("tokenizer.ggml.pre", GgufValue.From(pre)));
        }

        return GgufVocabulary.FromMetadata(new GgufMetadata(entries));
    }

    private static List<int> Encode(GgufVocabulary vocabulary, string text)
    {
        var ids = new List<int>();
        new ByteLevelBpeEncoder(vocabulary).Encode(text, true, ids);
        return ids;
    }

    private static int Id(GgufVocabulary vocabulary, string piece) =>
        vocabulary.TryGetId(piece, out int id) ? id : throw new ArgumentException($"No token '{piece}'.", nameof(piece));

    private static string Text(ByteLevelBpeEncoder encoder, int id) => Encoding.UTF8.GetString(encoder.TokenBytes(id));
}
