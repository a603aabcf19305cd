using MicroLlm.Tokenization;

namespace MicroLlm.Tests.Tokenization.Bpe;

/// <summary>
/// A stand-in for the GGUF tokenizer frame, which is not this folder's: before the text encoder runs, the reference
/// runtime cuts every USER_DEFINED token's text out of the input (even when special tokens are not parsed), longest
/// token first, and encodes only the text between them. The conformance vocabularies rely on it: DeepSeek's make
/// <c>ü</c> a user-defined token, MPT and GPT-NeoX make runs of spaces ones.
/// </summary>
internal sealed class UserDefinedTokenSplitter
{
    // Pieces the reference re-types as CONTROL when it looks for end-of-turn and fill-in-the-middle markers; those are not cut out of unparsed text.
    private static readonly HashSet<string> ReferenceControlNames =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<｜end▁of▁sentence｜>", "<|eom_id|>",
        "<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>", "<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>",
        "<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>", "<|fim_pad|>", "<fim-pad>", "<PAD>",
        "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<|file_sep|>",
    ];

    private readonly (string Text, int Id)[] _tokens;

    /// <summary>Collects the vocabulary's user-defined tokens, longest first (ties by id).</summary>
    /// <param name="vocabulary">The vocabulary.</param>
    public UserDefinedTokenSplitter(GgufVocabulary vocabulary)
    {
        _tokens = Enumerable.Range(0, vocabulary.Count)
            .Where(id => vocabulary.GetTokenType(id) == GgufTokenType.UserDefined
                && vocabulary.Tokens[id].Length > 0
                && !ReferenceControlNames.Contains(vocabulary.Tokens[id]))
            .Select(id => (vocabulary.Tokens[id], id))
            .OrderByDescending(t => System.Text.Encoding.UTF8.GetByteCount(t.Item1))
            .ThenBy(t => t.id)
            .ToArray();
    }

    /// <summary>Encodes <paramref name="text"/> as the reference does without parsing special tokens.</summary>
    /// <param name="encoder">The text encoder for the fragments between user-defined tokens.</param>
    /// <param name="text">The text.</param>
    /// <returns>The ids.</returns>
    public List<int> Encode(TextEncoder encoder, string text)
    {
        // A fragment is raw text (Id = -1) or one user-defined token.
        var fragments = new List<(string Text, int Id)> { (text, -1) };
        foreach (var (piece, id) in _tokens)
        {
            var next = new List<(string, int)>(fragments.Count);
            foreach (var fragment in fragments)
            {
                if (fragment.Id >= 0)
                {
                    next.Add(fragment);
                    continue;
                }

                string rest = fragment.Text;
                int at;
                while ((at = rest.IndexOf(piece, StringComparison.Ordinal)) >= 0)
                {
                    if (at > 0)
                    {
                        next.Add((rest[..at], -1));
                    }

                    next.Add((piece, id));
                    rest = rest[(at + piece.Length)..];
                }

                if (rest.Length > 0)
                {
                    next.Add((rest, -1));
                }
            }

            fragments = next;
        }

        var ids = new List<int>();
        bool afterSpecialOrStart = true;
        foreach (var (fragment, id) in fragments)
        {
            if (id >= 0)
            {
                ids.Add(id);
                afterSpecialOrStart = true;
            }
            else
            {
                encoder.Encode(fragment, afterSpecialOrStart, ids);
                afterSpecialOrStart = false;
            }
        }

        return ids;
    }
}
