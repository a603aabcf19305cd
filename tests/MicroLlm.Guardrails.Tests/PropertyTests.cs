using FsCheck;
using FsCheck.Fluent;
using MicroLlm.Guardrails;

namespace MicroLlm.Guardrails.Tests;

/// <summary>Thousands of random valid events, both languages, template and model paths: every fact carried, none invented.</summary>
public class PropertyTests
{
    private static readonly AlertCatalog Catalog = AlertCatalog.Default;
    private static readonly AlertPolicy KeepText = new() { RedactPii = false };

    private static AlertEvent ParseValid(string json)
    {
        var validation = Catalog.ValidateEvent(json);
        Assert.That(validation.IsValid, Is.True, () => json + "\n" + string.Join("\n", validation.Errors));
        return validation.Event!;
    }

    private static bool CarriesEveryFact(AlertEvent ev, AlertResult result, string json)
    {
        foreach (var t in result.Texts)
        {
            var problems = FactOracle.Problems(ev, t.Language, t.Text);
            Assert.That(problems, Is.Empty, () => $"{json}\n{t.Language} ({t.Source}): {t.Text}");
        }

        Assert.That(result.Texts.Select(t => t.Language), Is.EqualTo(new[] { AlertLanguage.English, AlertLanguage.Bangla }));
        return true;
    }

    [FsCheck.NUnit.Property(MaxTest = 2000, QuietOnSuccess = true)]
    public Property TemplatePathCarriesEveryFactAndInventsNone() =>
        Prop.ForAll(RandomEvents.Arbitrary(Catalog), json =>
        {
            var ev = ParseValid(json);
            var result = new AlertPhraser(null, new AlertPhraserOptions { Policy = KeepText }).PhraseAsync(ev).GetAwaiter().GetResult();
            Assert.That(result.Source, Is.EqualTo(AlertTextSource.Template));
            return CarriesEveryFact(ev, result, json);
        });

    [FsCheck.NUnit.Property(MaxTest = 1000, QuietOnSuccess = true)]
    public Property AFaithfulModelIsAcceptedAndCarriesEveryFact() =>
        Prop.ForAll(RandomEvents.Arbitrary(Catalog), AFaithfulModelIsAccepted);

    // Found by the property above (about once in 30,000 events): a location or river that reads as a time ("85 PM", "10:30 PM",
    // "12 AM") right before a full stop. The verifier took the stop into the time token, which then outranked the data it
    // contained: "Location: 85 PM. Time: 9:00 PM." failed as a missing location and a wrong time "85 PM.".
    [TestCase("""{"type":"gas_leak","severity":"critical","location":"85 PM","time":"2027-08-18T21:00:00+05:30","sensor":"SMK-2313","gas":"ammonia","concentration":{"value":1000000,"unit":"percent_lel"},"action":"shut_valve"}""")]
    [TestCase("""{"type":"smoke","severity":"low","location":"10:30 PM","time":"2026-11-22T21:00:00+06:00","sensor":"SMK-1","action":"check_area"}""")]
    [TestCase("""{"type":"smoke","severity":"info","location":"12 AM","time":"2026-11-22T00:00:00Z","sensor":"SMK-1","action":"check_area"}""")]
    [TestCase("""{"type":"flood","severity":"medium","location":"Sirajganj","time":"2026-07-14T06:00:00+06:00","gauge":"BWDB-1","river":"7 AM","level":{"value":12,"unit":"cm"},"action":"move_to_shelter"}""")]
    [TestCase("""{"type":"flood","severity":"medium","location":"Sirajganj","time":"2026-07-14T06:00:00+06:00","gauge":"BWDB-1","river":"৭ PM","level":{"value":12,"unit":"cm"},"action":"move_to_shelter"}""")]
    public void AFaithfulModelIsAcceptedWhenTheDataReadsAsATime(string json) => AFaithfulModelIsAccepted(json);

    private static bool AFaithfulModelIsAccepted(string json)
    {
        var ev = ParseValid(json);
        var result = new AlertPhraser(Models.Good(), new AlertPhraserOptions { Policy = KeepText, MaxRetries = 0 }).PhraseAsync(ev).GetAwaiter().GetResult();
        Assert.That(result.Source, Is.EqualTo(AlertTextSource.Model), () => json + "\n" + string.Join("\n", result.Audit.Attempts.Where(a => a.Verification is not null).SelectMany(a => a.Verification!.Failures)));
        return CarriesEveryFact(ev, result, json);
    }

    [FsCheck.NUnit.Property(MaxTest = 1000, QuietOnSuccess = true)]
    public Property AModelThatChangesANumberNeverGetsThrough() =>
        Prop.ForAll(RandomEvents.Arbitrary(Catalog), json =>
        {
            var ev = ParseValid(json);
            var result = new AlertPhraser(Models.ChangesANumber(), new AlertPhraserOptions { Policy = KeepText, MaxRetries = 1 }).PhraseAsync(ev).GetAwaiter().GetResult();
            Assert.That(result.Texts.All(t => t.Source == AlertTextSource.Template), Is.True, () => json + "\n" + result);
            return CarriesEveryFact(ev, result, json);
        });

    [FsCheck.NUnit.Property(MaxTest = 1000, QuietOnSuccess = true)]
    public Property AModelThatInventsAFactNeverGetsThrough() =>
        Prop.ForAll(RandomEvents.Arbitrary(Catalog), json =>
        {
            var ev = ParseValid(json);
            var result = new AlertPhraser(Models.InventsAFact(), new AlertPhraserOptions { Policy = KeepText, MaxRetries = 0 }).PhraseAsync(ev).GetAwaiter().GetResult();
            Assert.That(result.Texts.All(t => t.Source == AlertTextSource.Template), Is.True, () => json + "\n" + result);
            return CarriesEveryFact(ev, result, json);
        });

    // Found by the random model below: a verbatim id right after a full stop ("AM.GAS/3392") is still that id, while
    // a number after another number's decimal point ("1.3392") is not.
    [TestCase("Time: 12:42 AM.GAS/3392.", true)]
    [TestCase("Time: 12:42 AM. 1.3392 GAS/3392.", false)]
    public void TheOracleFindsAnIdAfterAFullStop(string tail, bool clean)
    {
        const string Json = "{\"type\":\"gas_leak\",\"severity\":\"high\",\"location\":\"Building\",\"time\":\"2025-05-31T00:42:00+06:00\",\"sensor\":\"GAS/3392\",\"gas\":\"methane\",\"concentration\":{\"value\":338000,\"unit\":\"percent_lel\"},\"action\":\"evacuate\"}";
        var ev = ParseValid(Json);
        var problems = FactOracle.Problems(ev, AlertLanguage.English, "High-severity alert. Location: Building. 338,000% of the lower explosive limit. " + tail);
        Assert.That(problems.Count == 0, Is.EqualTo(clean), () => string.Join("; ", problems));
    }

    // Found by the random model below (about once in 50,000 runs): it deleted the space between the gauge and a river that
    // starts with a letter. "6494.alert" joins no digits, so the river (and the numbers inside it) is still data; were the
    // river to start with a digit ("BWDB/6494.34 Y"), both would read as one number, and the verifier rejects that.
    [TestCase("alert ঢাকা ১,২০০ (Block", "BWDB/6494.alert ঢাকা ১,২০০ (Block.", true)]
    [TestCase("alert ঢাকা ১,২০০ (Block", "BWDB/6494. alert ঢাকা ১,২০০ (Block.", true)]
    [TestCase("34 Y", "BWDB/6494.34 Y.", false)]
    [TestCase("34 Y", "BWDB/6494. 34 Y.", true)]
    public void AnIdAndTheRiverAfterItAreReadTheSameByTheOracleAndTheVerifier(string river, string facts, bool clean)
    {
        string json = $$"""{"type":"flood","severity":"medium","location":"Sirajganj","time":"2024-09-05T08:57:00+05:30","gauge":"BWDB/6494","river":"{{river}}","level":{"value":35,"unit":"m"},"action":"avoid_river"}""";
        string text = $"Medium-severity alert. Location: Sirajganj. Time: 8:57 AM. {facts} 35 m. Stay away from the river bank.";
        BothReadersAgree(json, AlertLanguage.English, text, clean);
    }

    // Found by ARandomModelAlwaysEndsInAVerifiedAlert (replay (9989834300722291504,15191297223113889583,64)): an inserted
    // space and letter turned "9:50 AM." into "9:50 A M M.", which the verifier reads as 9:50 AM (it accepts "AM", "A.M",
    // "a m", as people write them) followed by a stray letter; the test's oracle knew only "AM" and called the time missing.
    [TestCase("9:50 A M M.", true)]
    [TestCase("9:50 a.m.", true)]
    [TestCase("9:50 AM.", true)]
    [TestCase("09:50.", true)]
    [TestCase("9:50 P M.", false)]
    [TestCase("9:50 AMX.", false)]
    [TestCase("9:51 AM.", false)]
    public void EverySpellingOfAmIsReadTheSameByTheOracleAndTheVerifier(string time, bool clean)
    {
        string json = """{"type":"medical_vitals","severity":"critical","location":"Ward 3","time":"2024-06-08T09:50:00-04:00","bed":"GAS.3130","vital":"body_temperature","reading":{"value":71,"unit":"bpm"},"action":"recheck"}""";
        string text = $"CRITICAL ALERT. Location: Ward 3. Time: {time} GAS.3130. body temperature. 71 beats per minute. Recheck the reading and the sensor placement.";
        BothReadersAgree(json, AlertLanguage.English, text, clean);
    }

    // Found by ARandomModelAlwaysEndsInAVerifiedAlert (replay (11383301916075336121,13289220775862792371,93)): a deleted
    // comma turned "৮,৭০,০০০" into "৮৭০,০০০", the same value in Western grouping, which the verifier accepts by design
    // (AlertNumbers.AcceptedForms); the test's oracle knew only the Indian grouping and called the number missing.
    [TestCase("৮,৭০,০০০", true)]
    [TestCase("৮৭০,০০০", true)]
    [TestCase("৮৭০০০০", true)]
    [TestCase("8,70,000", true)]
    [TestCase("৮৭,০০০", false)]
    [TestCase("৮,৭০,০০১", false)]
    public void AnyCorrectGroupingOfANumberIsReadTheSameByTheOracleAndTheVerifier(string attempts, bool clean)
    {
        string json = """{"type":"unauthorized_access","severity":"info","location":"AM","time":"2022-03-08T10:49:00+05:45","device":"X.8855","account":"DOOR-1070","attempts":870000,"action":"verify_identity"}""";
        string text = $"তথ্য বিজ্ঞপ্তি। ঘটনাস্থল: AM। সময়: সকাল ১০টা ৪৯ মিনিট। X.8855। DOOR-1070। {attempts} বার ব্যর্থ চেষ্টা। দরজায় থাকা ব্যক্তির পরিচয় যাচাই করুন।";
        BothReadersAgree(json, AlertLanguage.Bangla, text, clean);
    }

    /// <summary>The test's oracle and the verifier both call <paramref name="text"/> clean, or both find a problem.</summary>
    private static void BothReadersAgree(string json, AlertLanguage language, string text, bool clean)
    {
        var ev = ParseValid(json);
        var problems = FactOracle.Problems(ev, language, text);
        Assert.That(problems.Count == 0, Is.EqualTo(clean), () => string.Join("; ", problems));
        var report = new AlertVerifier(policy: KeepText).Verify(ev, language, text);
        Assert.That(report.Passed, Is.EqualTo(clean), () => string.Join("; ", report.Failures));
    }

    /// <summary>A "random model": the faithful text, mutated at random (digits swapped between systems, spans deleted, numbers inserted, marks added).</summary>
    [FsCheck.NUnit.Property(MaxTest = 1000, QuietOnSuccess = true)]
    public Property ARandomModelAlwaysEndsInAVerifiedAlert() =>
        Prop.ForAll(RandomEvents.Arbitrary(Catalog), Gen.Choose(0, int.MaxValue).ToArbitrary(), (json, seed) =>
        {
            var ev = ParseValid(json);
            var random = new Random(seed);
            var client = FakeChatClient.Answering(r => Mutate(Models.GoodPhrasing(r), random));
            var result = new AlertPhraser(client, new AlertPhraserOptions { Policy = KeepText, MaxRetries = 1 }).PhraseAsync(ev).GetAwaiter().GetResult();
            return CarriesEveryFact(ev, result, json);
        });

    private static string Mutate(string text, Random random)
    {
        for (int n = random.Next(1, 4); n > 0; n--)
        {
            int at = random.Next(text.Length);
            text = random.Next(9) switch
            {
                0 => text.Remove(at, Math.Min(random.Next(1, 12), text.Length - at)),
                1 => text.Insert(at, random.Next(3) switch { 0 => " 7 ", 1 => " ৭ ", _ => " ７ " }),
                2 => Swap(text, at, c => c is >= '0' and <= '9' ? (char)('০' + (c - '0')) : c is >= '০' and <= '৯' ? (char)('0' + (c - '০')) : c),
                3 => Swap(text, at, c => char.IsDigit(c) ? (char)('0' + ((int)char.GetNumericValue(c) + 1) % 10) : c),
                4 => text.Insert(at, random.Next(2) == 0 ? "\u202E" : "\u200D"),
                5 => Swap(text, at, c => c switch { 'a' => 'а', 'e' => 'е', 'o' => 'о', 'B' => 'В', _ => c }),
                6 => text.ToUpperInvariant(),
                7 => text.Insert(at, " at 11:45 PM "),
                _ => text + " " + text[..Math.Min(at, text.Length)],
            };
        }

        return text;
    }

    private static string Swap(string text, int from, Func<char, char> change)
    {
        for (int i = from; i < text.Length; i++)
        {
            char c = change(text[i]);
            if (c != text[i])
            {
                return text[..i] + c + text[(i + 1)..];
            }
        }

        return text;
    }
}
