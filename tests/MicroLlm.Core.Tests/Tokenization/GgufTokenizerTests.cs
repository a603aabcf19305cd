using System.Buffers;
using System.Text;
using MicroLlm.Gguf;
using MicroLlm.Tokenization;
using MicroLlm.Tokenization.WordPiece;

namespace MicroLlm.Tests.Tokenization;

/// <summary>Errors, decoding, the <see cref="Microsoft.ML.Tokenizers.Tokenizer"/> API and round trips of <see cref="GgufTokenizer"/>.</summary>
[TestFixture]
public sealed class GgufTokenizerTests
{
    private const string BanglaAlert = "জরুরি সতর্কতা: ঢাকার মিরপুরে আগুন লেগেছে। ৩টি ইউনিট কাজ করছে।";

    private static GgufTokenizer Vocab(string name) =>
        GgufTokenizerConformanceTests.Load(Conformance.RequireFile("tokenizer", $"ggml-vocab-{name}.gguf")).Tokenizer;

    private static GgufMetadata Metadata(string model, string[] tokens, int[]? types = null, params (string Key, GgufValue Value)[] more)
    {
        var entries = new List<KeyValuePair<string, GgufValue>>
        {
            new("tokenizer.ggml.model", GgufValue.From(model)),
            new("tokenizer.ggml.tokens", GgufValue.FromArray<string>(tokens)),
        };
        if (types is not null)
        {
            entries.Add(new("tokenizer.ggml.token_type", GgufValue.FromArray<int>(types)));
        }

        entries.AddRange(more.Select(m => new KeyValuePair<string, GgufValue>(m.Key, m.Value)));
        return new GgufMetadata(entries);
    }

    [Test]
    public void Metadata_without_a_tokenizer_is_invalid_data_naming_the_key()
    {
        var e = Assert.Throws<InvalidDataException>(() => GgufTokenizer.Create(new GgufMetadata([new("general.architecture", GgufValue.From("llama"))])));
        Assert.That(e!.Message, Does.Contain("tokenizer.ggml.model"));
    }

    [Test]
    public void An_unsupported_vocabulary_type_says_which_are_supported()
    {
        var e = Assert.Throws<NotSupportedException>(() => GgufTokenizer.Create(Metadata("t5", ["<pad>", "</s>"])));
        Assert.That(e!.Message, Does.Contain("'t5'").And.Contain("'llama'").And.Contain("'gpt2'").And.Contain("'bert'"));
    }

    [Test]
    public void Duplicate_pieces_are_refused_naming_both_ids()
    {
        var e = Assert.Throws<InvalidDataException>(() => GgufTokenizer.Create(Metadata("llama", ["<unk>", "▁a", "b", "▁a"])));
        Assert.That(e!.Message, Does.Contain("'▁a'").And.Contain("ids 1 and 3"));
    }

    [Test]
    public void A_byte_token_not_written_as_hex_is_invalid_data()
    {
        var e = Assert.Throws<InvalidDataException>(() => GgufTokenizer.Create(Metadata("llama", ["<unk>", "<0xZZ>"], [2, 6])));
        Assert.That(e!.Message, Does.Contain("token 1").And.Contain("<0xZZ>"));
    }

    [Test]
    public void Malformed_tokenizer_values_are_invalid_data()
    {
        Assert.Multiple(() =>
        {
            Assert.Throws<InvalidDataException>(() => GgufTokenizer.Create(Metadata("gpt2", ["a", "b"])), "gpt2 without merges");
            Assert.Throws<InvalidDataException>(() => GgufTokenizer.Create(Metadata("llama", ["a", "b"], [1])), "types of the wrong length");
            Assert.Throws<InvalidDataException>(() => GgufTokenizer.Create(Metadata("llama", ["a", "b"], null, ("tokenizer.ggml.bos_token_id", GgufValue.From(7u)))), "BOS outside");
            Assert.Throws<InvalidDataException>(() => GgufTokenizer.Create(Metadata("llama", ["a", "b"], null, ("tokenizer.ggml.fim_pre_token_id", GgufValue.From("x")))), "an id that is a string");
            Assert.Throws<InvalidDataException>(() => GgufTokenizer.Create(new GgufMetadata([new("tokenizer.ggml.model", GgufValue.From("llama")), new("tokenizer.ggml.tokens", GgufValue.From(3))])), "tokens that are no array");
            Assert.Throws<NotSupportedException>(() => GgufTokenizer.Create(Metadata("gpt2", ["a", "b"], null, ("tokenizer.ggml.merges", GgufValue.FromArray<string>(["a b"])), ("tokenizer.ggml.pre", GgufValue.From("no-such-pre")))));
        });
    }

    [Test]
    public void Token_types_outside_the_enumeration_are_undefined_and_render_nothing()
    {
        var tokenizer = GgufTokenizer.Create(Metadata("llama", ["<unk>", "<s>", "</s>", "▁x", "<odd>"], [2, 3, 3, 1, 9]));

        Assert.That(tokenizer.Vocabulary.GetTokenType(4), Is.EqualTo(GgufTokenType.Undefined));
        Assert.That(tokenizer.GetTokenBytes(4).ToArray(), Is.Empty);
        Assert.That(tokenizer.Encode("<odd>", false, true), Does.Not.Contain(4), "an undefined token is not special");
    }

    [Test]
    public void An_empty_piece_is_known_by_the_name_the_reference_gives_it()
    {
        var tokenizer = GgufTokenizer.Create(Metadata("llama", ["<unk>", "<s>", "</s>", "▁x", ""], [2, 3, 3, 1, 4]));

        Assert.That(Encoding.UTF8.GetString(tokenizer.GetTokenBytes(4)), Is.EqualTo("[EMPTY_4]"));
        Assert.That(tokenizer.Encode("x[EMPTY_4]", false, false), Is.EqualTo(new[] { 3, 4 }));
    }

    [Test]
    public void SentencePiece_without_byte_tokens_writes_an_unknown_character_as_the_unknown_token()
    {
        var tokenizer = GgufTokenizer.Create(Metadata("llama", ["<unk>", "<s>", "</s>", "▁", "x", "▁x"], [2, 3, 3, 1, 1, 1]));

        Assert.That(tokenizer.Encode("x ж x", false, false), Is.EqualTo(new[] { 5, 3, 0, 5 }));
    }

    [Test]
    public void A_missing_bos_is_reported_only_when_it_is_needed()
    {
        // chatglm-bpe has no default BOS; the file asks for one without naming it.
        var tokenizer = GgufTokenizer.Create(Metadata("gpt2", ["a", "b", "ab"], null,
            ("tokenizer.ggml.merges", GgufValue.FromArray<string>(["a b"])),
            ("tokenizer.ggml.pre", GgufValue.From("chatglm-bpe")),
            ("tokenizer.ggml.add_bos_token", GgufValue.From(true))));

        Assert.That(tokenizer.BeginningOfSentenceId, Is.Null);
        Assert.That(tokenizer.Encode("ab", false, false), Is.EqualTo(new[] { 2 }));
        var e = Assert.Throws<InvalidOperationException>(() => tokenizer.Encode("ab"));
        Assert.That(e!.Message, Does.Contain("addSpecialTokens: false"));
    }

    [Test]
    public void Lone_surrogates_are_read_as_the_replacement_character()
    {
        var tokenizer = Vocab("llama-spm");

        Assert.That(tokenizer.Encode("a\uD800b\uDC00", false, false), Is.EqualTo(tokenizer.Encode("a\uFFFDb\uFFFD", false, false)));
        Assert.Throws<ArgumentNullException>(() => tokenizer.Encode(null!, false, false));
    }

    [Test]
    public void Decoding_an_id_outside_the_vocabulary_says_so()
    {
        var tokenizer = Vocab("llama-spm");

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([1, 32000]));
        Assert.That(e!.Message, Does.Contain("32000").And.Contain("0 to 31999"));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.GetTokenBytes(-1));
    }

    [Test]
    public void Decoding_renders_control_tokens_and_keeps_the_space_after_bos()
    {
        var tokenizer = Vocab("llama-spm");

        Assert.That(tokenizer.Decode(tokenizer.Encode("Hello world")), Is.EqualTo("<s> Hello world"));
        Assert.That(tokenizer.Decode(tokenizer.Encode("Hello world", false, false)), Is.EqualTo("Hello world"));
    }

    [Test]
    public void Decoding_part_of_a_character_gives_the_replacement_character()
    {
        var tokenizer = Vocab("llama-spm");
        var ids = tokenizer.Encode("ঢ", false, false); // ▁ then three byte tokens

        Assert.That(ids, Has.Count.EqualTo(4));
        Assert.That(tokenizer.Decode(ids.Take(3)), Is.EqualTo("\uFFFD"));
        Assert.That(tokenizer.Decode(ids), Is.EqualTo("ঢ"));
    }

    [TestCase("llama-spm")]
    [TestCase("gpt-2")]
    [TestCase("bert-bge")]
    public void Span_decoding_stops_before_a_token_that_does_not_fit(string vocab)
    {
        var tokenizer = Vocab(vocab);
        var ids = tokenizer.Encode(BanglaAlert + " Fire at Mirpur", false, false);
        string whole = tokenizer.Decode(ids);

        Assert.That(tokenizer.Decode(ids, new char[whole.Length], out int consumed, out int written), Is.EqualTo(OperationStatus.Done));
        Assert.That((consumed, written), Is.EqualTo((ids.Count, whole.Length)));

        var buffer = new char[whole.Length / 2];
        Assert.That(tokenizer.Decode(ids, buffer, out consumed, out written), Is.EqualTo(OperationStatus.DestinationTooSmall));
        Assert.That(consumed, Is.LessThan(ids.Count));
        Assert.That(whole, Does.StartWith(new string(buffer, 0, written)));
    }

    [TestCase("llama-spm")]
    [TestCase("gpt-2")]
    [TestCase("phi-3")]
    [TestCase("bert-bge")]
    public void Truncated_encoding_never_splits_a_character(string vocab)
    {
        var tokenizer = Vocab(vocab);
        string text = BanglaAlert + " Fire at Mirpur, Dhaka.";
        var all = tokenizer.EncodeToIds(text);
        var tokens = tokenizer.EncodeToTokens(text, out _);

        for (int max = 1; max <= all.Count; max++)
        {
            var ids = tokenizer.EncodeToIds(text, max, out string? normalized, out int consumed);
            Assert.That(normalized, Is.Null);
            Assert.That(ids, Has.Count.LessThanOrEqualTo(max));
            Assert.That(ids, Is.EqualTo(all.Take(ids.Count)), $"max {max}");
            if (ids.Count < all.Count)
            {
                // The next token starts at or after the end of the last one kept: no character is shared.
                Assert.That(tokens[ids.Count].Offset.Start.Value, Is.GreaterThanOrEqualTo(consumed), $"max {max}");
                Assert.That(all.Count - ids.Count, Is.GreaterThan(0));
            }

            int index = tokenizer.GetIndexByTokenCount(text, max, out _, out int count);
            Assert.That((index, count), Is.EqualTo((consumed, ids.Count)), $"max {max}");

            int fromEnd = tokenizer.GetIndexByTokenCountFromEnd(text, max, out _, out int countFromEnd);
            Assert.That(countFromEnd, Is.LessThanOrEqualTo(max));
            Assert.That(fromEnd, Is.EqualTo(countFromEnd == all.Count ? 0 : countFromEnd == 0 ? text.Length : tokens[all.Count - countFromEnd].Offset.Start.Value), $"max {max} from the end");
        }

        Assert.That(tokenizer.EncodeToIds(text, all.Count, out _, out int full), Has.Count.EqualTo(all.Count));
        Assert.That(full, Is.EqualTo(text.Length));
    }

    [Test]
    public void WordPiece_offsets_point_at_the_source_words()
    {
        var tokenizer = Vocab("bert-bge");
        const string text = "  Smoke in BUILDING, Café!";

        var tokens = tokenizer.EncodeToTokens(text, out _);
        var covered = tokens.Select(t => text[t.Offset]).ToArray();

        Assert.That(covered, Is.EqualTo(new[] { "", "Smoke", "in", "BUILDING", ",", "Café", "!", "" }), string.Join(" | ", tokens.Select(t => t.Value)));
    }

    [Test]
    public void Special_tokens_cover_their_text_and_the_api_does_not_parse_them()
    {
        var tokenizer = Vocab("gpt-2");
        const string text = "Hi<|endoftext|>there";

        var parsed = tokenizer.Encode(text, false, true);
        Assert.That(parsed, Does.Contain(50256));
        Assert.That(tokenizer.EncodeToIds(text), Does.Not.Contain(50256), "the Tokenizer API does not parse special tokens");
    }

    [Test]
    public void Reference_first_decomposition_and_lowercase()
    {
        Assert.Multiple(() =>
        {
            Assert.That(FirstDecomposition.Map('é'), Is.EqualTo('e'));
            Assert.That(FirstDecomposition.Map('Å'), Is.EqualTo('A'));
            Assert.That(FirstDecomposition.Map(0x09CB), Is.EqualTo(0x09C7), "Bengali vowel sign O loses its AA part");
            Assert.That(FirstDecomposition.Map(0xAC00), Is.EqualTo(0x1100), "Hangul syllables decompose to their leading consonant");
            Assert.That(FirstDecomposition.Map('a'), Is.EqualTo('a'));
            Assert.That(FirstDecomposition.Map(0x10FFFF), Is.EqualTo(0x10FFFF));
            Assert.That(WordPieceEncoder.ToLower(0x130, MicroLlm.Tokenization.Bpe.CodePointClassifier.Classify(0x130)), Is.EqualTo('i'));
            Assert.That(WordPieceEncoder.ToLower(0xA7CB, MicroLlm.Tokenization.Bpe.CodePointClassifier.Classify(0xA7CB)), Is.EqualTo(0xA7CB), "assigned after Unicode 15.1: left alone");
        });
    }

    [TestCase("llama-spm")]
    [TestCase("phi-3")]
    [TestCase("gpt-2")]
    [TestCase("deepseek-llm")]
    public void Random_text_round_trips(string vocab)
    {
        var tokenizer = Vocab(vocab);
        var rng = new Random(20261122);
        int[][] ranges = [[0x20, 0x7E], [0x09, 0x0D], [0x980, 0x9FF], [0x4E00, 0x4E80], [0x1F600, 0x1F64F], [0xA0, 0x17F], [0x3000, 0x3010]];
        for (int n = 0; n < 200; n++)
        {
            var sb = new StringBuilder();
            int length = rng.Next(0, 40);
            for (int i = 0; i < length; i++)
            {
                int[] r = ranges[rng.Next(ranges.Length)];
                sb.Append(char.ConvertFromUtf32(rng.Next(r[0], r[1] + 1)));
            }

            string text = sb.ToString();
            var ids = tokenizer.Encode(text, false, false);
            Assert.That(tokenizer.Decode(ids), Is.EqualTo(text), $"\"{text}\" → {string.Join(' ', ids)}");
        }
    }
}
