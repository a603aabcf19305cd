using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using MicroLlm.Constraints;
using MicroLlm.Inference;

namespace MicroLlm.Benchmarks;

/// <summary>
/// The grammar mask beside the decode step it rides on, on one model: <c>DecodeStep</c> evaluates one token at a fixed
/// position (the KV cache truncated back after each), <c>Mask</c> is mask + accept per token of a JSON document with the
/// model's own constraint vocabulary (warm caches), <c>DecodeStepWithMask</c> both. The budget (issue 4): the mask costs at
/// most 10% of a decode step on the TinyLlama-1.1B-shaped Q4_0 file.
/// </summary>
/// <remarks>
/// <c>MICROLLM_BENCH_MODEL=tinyllama-q4_0.gguf dotnet run -c Release --project benchmarks/MicroLlm.Benchmarks -- --filter '*ConstrainedDecode*'</c>
/// (without the variable: the conformance folder's tiny llama, whose decode step is far cheaper than any real model's).
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class ConstrainedDecodeBenchmarks
{
    private const string Document = "{\"name\": \"Rahim Uddin\", \"age\": 42, \"city\": \"ঢাকা\", \"tags\": [\"a\", \"b\"], \"score\": 0.875, \"ok\": true}";

    private LanguageModel _model = null!;
    private InferenceSession _session = null!;
    private TokenConstraint _constraint = null!;
    private bool[] _mask = [];
    private int[] _document = [];
    private int _position;
    private int _next;
    private int _step;

    [GlobalSetup]
    public void Setup()
    {
        _model = LanguageModel.Load(BenchData.Model("tiny-llama-q4_0.gguf"), new LanguageModelOptions { ThreadCount = 2 });
        _session = _model.CreateSession(new SessionOptions { ContextLength = 256 });
        int[] prompt = _model.Tokenizer.Encode("Write the record as JSON:", addSpecialTokens: true, parseSpecialTokens: false).ToArray();
        _session.Evaluate(prompt);
        _position = prompt.Length;
        _next = prompt[^1];
        _mask = new bool[_model.Info.VocabularySize];
        _document = ConstraintBenchData.GreedyTokens(_model.ConstraintVocabulary, Document); // the grammar admits no leading space, which SentencePiece would add
        _constraint = TokenConstraint.Create(Grammar.Parse(ConstraintBenchData.JsonGrammar), _model.ConstraintVocabulary);
        Mask(); // warm the transition caches for every state of the document
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Dispose();
        _model.Dispose();
    }

    /// <summary>One decode step at a fixed position.</summary>
    [Benchmark(Baseline = true)]
    public float DecodeStep()
    {
        float first = _session.Evaluate([_next])[0];
        _session.Truncate(_position);
        return first;
    }

    /// <summary>Mask and accept, averaged over the document's tokens.</summary>
    [Benchmark(OperationsPerInvoke = 64)]
    public int Mask()
    {
        int allowed = 0;
        for (int i = 0; i < 64; i++)
        {
            allowed += MaskStep();
        }

        return allowed;
    }

    /// <summary>A decode step followed by the mask for the next token.</summary>
    [Benchmark]
    public int DecodeStepWithMask()
    {
        _session.Evaluate([_next]);
        _session.Truncate(_position);
        return MaskStep();
    }

    private int MaskStep()
    {
        if (_step == 0)
        {
            _constraint.Reset();
        }

        int allowed = _constraint.ComputeMask(_mask);
        _constraint.Accept(_document[_step]);
        _step = (_step + 1) % _document.Length;
        return allowed;
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddJob(Job.ShortRun.WithWarmupCount(2).WithIterationCount(5));
    }
}
