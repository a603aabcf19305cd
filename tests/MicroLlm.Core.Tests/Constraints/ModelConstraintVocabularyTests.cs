using MicroLlm.Constraints;
using MicroLlm.Inference;
using MicroLlm.Models;
using MicroLlm.Tokenization;

namespace MicroLlm.Core.Tests.Constraints;

/// <summary>The vocabulary a loaded model gives its grammar masks.</summary>
public class ModelConstraintVocabularyTests
{
    [Test]
    public async Task ControlTokensAreNeverTheTextTheyPrintAs()
    {
        string path = Path.Combine(Path.GetTempPath(), $"constraint-vocab-{Guid.NewGuid():N}.gguf");
        try
        {
            await SyntheticModel.WriteAsync(new SyntheticModelOptions(SyntheticModelShape.Presets["tiny-llama"]) { FileType = SyntheticModelFileType.Q8_0 }, path);
            using var model = LanguageModel.Load(path);
            var vocabulary = model.Tokenizer.Vocabulary;
            int bos = vocabulary.BosId!.Value;
            Assert.That(vocabulary.GetTokenType(bos), Is.EqualTo(GgufTokenType.Control));
            string bosText = model.Tokenizer.Decode([bos]);
            Assume.That(bosText, Is.Not.Empty, "the BOS token prints nothing here, so the case cannot arise");

            // A grammar whose text is exactly what BOS prints: the BOS id itself must not be allowed.
            var constraint = TokenConstraint.Create(Grammar.Parse($"root ::= \"{bosText}\""), model.ConstraintVocabulary);
            var mask = new bool[model.Info.VocabularySize];
            int allowed = constraint.ComputeMask(mask);
            Assert.That(allowed, Is.GreaterThan(0), "the text can still be spelled with ordinary tokens");
            Assert.That(mask[bos], Is.False);
            for (int id = 0; id < vocabulary.Count; id++)
            {
                if (vocabulary.GetTokenType(id) == GgufTokenType.Control)
                {
                    Assert.That(model.ConstraintVocabulary.GetTokenBytes(id).Length, Is.Zero, $"control token {id}");
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
