using MicroLlm.Guardrails;

namespace MicroLlm.Guardrails.Tests;

public class VerifierTests
{
    private static readonly AlertEvent Fire = AlertEvent.Parse(AlertCatalog.Default.GetAlertType("fire").ExampleJson);
    private static readonly string En = AlertCatalog.Default.RenderTemplate(Fire, AlertLanguage.English);
    private static readonly string Bn = AlertCatalog.Default.RenderTemplate(Fire, AlertLanguage.Bangla);

    private static VerificationReport Verify(string text, AlertLanguage language) => new AlertVerifier().Verify(Fire, language, text);

    private static void Rejects(string text, AlertLanguage language, string check)
    {
        var report = Verify(text, language);
        Assert.That(report.Passed, Is.False, text);
        Assert.That(report.Failures.Select(f => f.Name), Does.Contain(check), string.Join("; ", report.Failures));
    }

    [Test]
    public void TemplatesPass()
    {
        Assert.That(Verify(En, AlertLanguage.English).Passed, Is.True);
        Assert.That(Verify(Bn, AlertLanguage.Bangla).Passed, Is.True);
    }

    [Test]
    public void ARewordingWithEveryFactPasses()
    {
        const string en = "CRITICAL ALERT: Building B, 3rd floor is on fire. Sensor SMK-B3-07 raised it at 2:05 PM and 3 fire units are on the way. Evacuate the building now using the stairs!";
        const string bn = "অতি জরুরি সতর্কতা: Building B, 3rd floor-এ আগুন লেগেছে। দুপুর ২টা ৫ মিনিটে সেন্সর SMK-B3-07 শনাক্ত করেছে। ফায়ার সার্ভিসের ৩টি ইউনিট আসছে। এখনই সিঁড়ি দিয়ে ভবন থেকে বেরিয়ে যান।";
        Assert.That(Verify(en, AlertLanguage.English).Passed, Is.True, string.Join("; ", Verify(en, AlertLanguage.English).Failures));
        var report = Verify(bn, AlertLanguage.Bangla);
        Assert.That(report.Failures.Select(f => f.Name), Is.SubsetOf(new[] { "names" }), string.Join("; ", report.Failures));
    }

    [Test]
    public void BanglaAcceptsEitherDigitSystemEnglishOnlyAscii()
    {
        Assert.That(Verify(Bn.Replace("৩টি ইউনিট", "3টি ইউনিট"), AlertLanguage.Bangla).Passed, Is.True);
        Assert.That(Verify(Bn.Replace("২টা ৫ মিনিট", "2টা 5 মিনিট"), AlertLanguage.Bangla).Passed, Is.True);
        Rejects(En.Replace("3 fire units", "৩ fire units"), AlertLanguage.English, "numbers");
    }

    [TestCase("3 fire units", "4 fire units", "numbers")]
    [TestCase("3 fire units", "３ fire units", "numbers")]
    [TestCase("3 fire units", "3 fire units and 2 ambulances", "invented_numbers")]
    [TestCase("2:05 PM", "2:50 PM", "time")]
    [TestCase("2:05 PM", "2:05 AM", "time")]
    [TestCase("2:05 PM", "2:05", "time")]
    [TestCase("2:05 PM", "02:05", "time")]
    [TestCase(".", ". It started at 3 PM.", "time")]
    [TestCase(".", ". It started at 3 p.m.", "time")]
    [TestCase("Building B, 3rd floor", "Building B, 4th floor", "facts")]
    [TestCase("Building B, 3rd floor", "Вuilding B, 3rd floor", "facts")]
    [TestCase("SMK-B3-07", "SMK-B3-O7", "facts")]
    [TestCase("SMK-B3-07", "SMK-B3-07\u200F", "characters")]
    [TestCase("Evacuate the building now using the stairs", "Stay where you are", "required_action")]
    [TestCase("CRITICAL ALERT", "Low-severity alert", "severity")]
    [TestCase(".", ". This is a minor issue.", "severity")]
    [TestCase(".", ". Firefighters from Gulshan are coming.", "names")]
    [TestCase(".", ". আগুন।", "script")]
    [TestCase(".", ". Three people are trapped.", "invented_numbers")]
    public void EnglishChangesAreCaught(string from, string to, string check)
    {
        int at = En.LastIndexOf(from, StringComparison.Ordinal);
        Rejects(En[..at] + to + En[(at + from.Length)..], AlertLanguage.English, check);
    }

    [TestCase("৩টি ইউনিট", "৪টি ইউনিট", "numbers")]
    [TestCase("৩টি ইউনিট", "৩টি ইউনিট ও ২টি অ্যাম্বুলেন্স", "invented_numbers")]
    [TestCase("দুপুর ২টা ৫ মিনিট", "রাত ২টা ৫ মিনিট", "time")]
    [TestCase("দুপুর ২টা ৫ মিনিট", "সকাল ২টা ৫ মিনিট", "time")]
    [TestCase("দুপুর ২টা ৫ মিনিট", "২টা ৫ মিনিট", "time")]
    [TestCase("অতি জরুরি সতর্কতা", "নিম্ন মাত্রার সতর্কতা", "severity")]
    [TestCase("এখনই সিঁড়ি দিয়ে ভবন থেকে বেরিয়ে যান", "ঘরে থাকুন", "required_action")]
    [TestCase("আগুন শনাক্ত হয়েছে", "fire detected", "script")]
    [TestCase("আগুন শনাক্ত হয়েছে", "আগুন শনাক্ত হয়েছে, গুলশান থানা জানিয়েছে", "names")]
    [TestCase("আগুন", "আ\u200Dগুন", "bangla_sequences")]
    public void BanglaChangesAreCaught(string from, string to, string check)
    {
        int at = Bn.IndexOf(from, StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), from);
        Rejects(Bn[..at] + to + Bn[(at + from.Length)..], AlertLanguage.Bangla, check);
    }

    [Test]
    public void TwentyFourHourTimeInBanglaIsAccepted()
    {
        string text = Bn.Replace("দুপুর ২টা ৫ মিনিট", "১৪:০৫");
        Assert.That(new AlertVerifier().Verify(Fire, AlertLanguage.Bangla, text).Failures.Select(f => f.Name), Does.Not.Contain("time"));
    }

    [TestCase("2:05 p.m.")]
    [TestCase("2:05 P.M.")]
    [TestCase("2:05 pm")]
    [TestCase("14:05")]
    public void EnglishTimeSpellingsAreAccepted(string time)
    {
        var report = Verify(En.Replace("2:05 PM", time, StringComparison.Ordinal), AlertLanguage.English);
        Assert.That(report.Passed, Is.True, string.Join("; ", report.Failures));
    }

    [TestCase("85 PM", "2026-11-22T21:00:00+06:00", "9:00 PM")]
    [TestCase("10:30 PM", "2026-11-22T22:30:00+06:00", "10:30 PM")]
    [TestCase("12 AM", "2026-11-22T00:00:00+06:00", "12:00 AM")]
    public void ALocationThatReadsAsATimeIsStillTheLocationBeforeAFullStop(string location, string time, string clock)
    {
        // A time token ends at its "M"; the full stop after it is punctuation, so it cannot outrank the location it contains.
        var ev = AlertEvent.Parse($$"""{"type": "smoke", "severity": "low", "location": "{{location}}", "time": "{{time}}", "sensor": "SMK-1", "action": "check_area"}""");
        string text = $"Low-severity alert. Location: {location}. Time: {clock}. SMK-1. Send a guard to check the area.";
        var report = new AlertVerifier().Verify(ev, AlertLanguage.English, text);
        Assert.That(report.Passed, Is.True, string.Join("; ", report.Failures));
    }

    [Test]
    public void AFactCannotHideInsideAnother()
    {
        // sensor "4" appears only inside the location "Gate 4": the sensor fact is missing.
        var ev = AlertEvent.Parse("""{"type": "smoke", "severity": "low", "location": "Gate 4", "time": "2026-11-22T10:00:00+06:00", "sensor": "4", "action": "check_area"}""");
        string template = AlertCatalog.Default.RenderTemplate(ev, AlertLanguage.English);
        Assert.That(new AlertVerifier().Verify(ev, AlertLanguage.English, template).Passed, Is.True, template);
        string dropped = template.Replace(" (sensor 4)", string.Empty);
        Assert.That(new AlertVerifier().Verify(ev, AlertLanguage.English, dropped).Failures.Select(f => f.Name), Does.Contain("facts"));
    }

    [Test]
    public void NonNfcAndEmptyTextFail()
    {
        Assert.That(Verify("", AlertLanguage.English).Passed, Is.False);
        Assert.That(Verify(Bn + " ব\u09C7\u09BEঝা", AlertLanguage.Bangla).Failures.Select(f => f.Name), Does.Contain("nfc"));
    }

    [Test]
    public void LengthLimitAppliesToModelText()
    {
        var verifier = new AlertVerifier(policy: new AlertPolicy { MaxLength = 160 });
        Assert.That(verifier.Verify(Fire, AlertLanguage.English, En + " Evacuate the building now using the stairs.").Failures.Select(f => f.Name), Does.Contain("length"));
    }

    [Test]
    public void APolicyCanAllowASitesOwnWords()
    {
        string text = En.Replace("Evacuate the building now", "Wardens, evacuate the building now", StringComparison.Ordinal);
        Assume.That(text, Is.Not.EqualTo(En));
        Rejects(text, AlertLanguage.English, "names");
        var policy = AlertPolicy.Parse("""{"allowedWords": {"en": ["Wardens"], "bn": ["ওয়ার্ডেন"]}}""");
        Assert.That(policy.AllowedWords, Has.Count.EqualTo(2));
        var report = new AlertVerifier(policy: policy).Verify(Fire, AlertLanguage.English, text);
        Assert.That(report.Passed, Is.True, string.Join("; ", report.Failures));
        // An allowed word is English only where the policy says so.
        Assert.That(new AlertVerifier(policy: AlertPolicy.Parse("""{"allowedWords": {"bn": ["Wardens"]}}""")).Verify(Fire, AlertLanguage.English, text).Passed, Is.False);
    }

    [TestCase("""{"allowedWords": ["x"]}""", "$.allowedWords")]
    [TestCase("""{"allowedWords": {"fr": ["x"]}}""", "$.allowedWords.fr")]
    [TestCase("""{"allowedWords": {"en": ["twelve 12"]}}""", "not a single word")]
    [TestCase("""{"allowedWords": {"en": ["B12"]}}""", "not a single word")]
    public void AllowedWordsAreWordsOnly(string json, string message)
    {
        Assert.That(() => AlertPolicy.Parse(json), Throws.TypeOf<InvalidDataException>().With.Message.Contains(message));
    }

    [Test]
    public void ACodeBuiltPolicyWithABadAllowedWordIsRefused()
    {
        var policy = new AlertPolicy { AllowedWords = [new AlertAllowedWord(AlertLanguage.English, "4th")] };
        Assert.That(() => new AlertVerifier(policy: policy), Throws.ArgumentException.With.Message.Contains("4th"));
    }
}
