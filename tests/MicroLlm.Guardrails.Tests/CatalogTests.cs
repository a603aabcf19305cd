using System.Text;
using MicroLlm.Guardrails;

namespace MicroLlm.Guardrails.Tests;

public class CatalogTests
{
    private static readonly string[] RequiredTypes =
    [
        "fire", "smoke", "gas_leak", "flood", "cyclone_signal", "earthquake", "intrusion", "unauthorized_access",
        "power_outage", "medical_vitals", "temperature_threshold", "network_attack",
    ];

    [Test]
    public void DefaultCatalogHasTheTwelveTypes()
    {
        Assert.That(AlertCatalog.Default.TypeNames, Is.SupersetOf(RequiredTypes));
        Assert.That(AlertCatalog.Default.Types, Has.Count.GreaterThanOrEqualTo(12));
    }

    [TestCaseSource(nameof(RequiredTypes))]
    public void ExampleRendersVerifiedNfcTextInBothLanguages(string type)
    {
        var catalog = AlertCatalog.Default;
        var ev = AlertEvent.Parse(catalog.GetAlertType(type).ExampleJson);
        var verifier = new AlertVerifier();
        foreach (var language in new[] { AlertLanguage.English, AlertLanguage.Bangla })
        {
            string text = catalog.RenderTemplate(ev, language);
            TestContext.Out.WriteLine(text);
            Assert.That(NfcTests.IsBanglaNfc(text), Is.True);
            var report = verifier.Verify(ev, language, text);
            Assert.That(report.Passed, Is.True, string.Join("; ", report.Failures));
        }
    }

    [Test]
    public void BanglaTemplateUsesBanglaDigitsLakhGroupingDayPeriodsAndClassifiers()
    {
        var ev = AlertEvent.Parse("""
            {"type": "power_outage", "severity": "medium", "location": "মিরপুর, ঢাকা", "time": "2026-11-22T19:45:00+06:00",
             "feeder": "DPDC-MP-11", "households": 1250000, "action": "unplug"}
            """);
        string bn = AlertCatalog.Default.RenderTemplate(ev, AlertLanguage.Bangla);
        Assert.That(bn, Does.Contain("১২,৫০,০০০টি পরিবার"));
        Assert.That(bn, Does.Contain("সন্ধ্যা ৭টা ৪৫ মিনিট"));
        Assert.That(bn, Does.StartWith("মাঝারি মাত্রার সতর্কতা:"));
        Assert.That(bn, Does.Not.Match("[0-9]").Or.Contain("DPDC-MP-11"));
        string en = AlertCatalog.Default.RenderTemplate(ev, AlertLanguage.English);
        Assert.That(en, Does.Contain("1,250,000 households"));
        Assert.That(en, Does.Contain("7:45 PM"));
    }

    [TestCase("2026-11-22T00:30:00+06:00", "রাত ১২টা ৩০ মিনিট", "12:30 AM")]
    [TestCase("2026-11-22T04:00:00+06:00", "ভোর ৪টা", "4:00 AM")]
    [TestCase("2026-11-22T09:05:00+06:00", "সকাল ৯টা ৫ মিনিট", "9:05 AM")]
    [TestCase("2026-11-22T12:00:00+06:00", "দুপুর ১২টা", "12:00 PM")]
    [TestCase("2026-11-22T14:05:00+06:00", "দুপুর ২টা ৫ মিনিট", "2:05 PM")]
    [TestCase("2026-11-22T16:20:00+06:00", "বিকাল ৪টা ২০ মিনিট", "4:20 PM")]
    [TestCase("2026-11-22T18:10:00+06:00", "সন্ধ্যা ৬টা ১০ মিনিট", "6:10 PM")]
    [TestCase("2026-11-22T22:59:00+06:00", "রাত ১০টা ৫৯ মিনিট", "10:59 PM")]
    public void TimesAreWrittenWithTheLocalClockAndBanglaDayPeriods(string time, string bangla, string english)
    {
        var ev = AlertEvent.Parse($$"""{"type": "smoke", "severity": "low", "location": "Hall", "time": "{{time}}", "sensor": "S1", "action": "check_area"}""");
        Assert.That(AlertCatalog.Default.RenderTemplate(ev, AlertLanguage.Bangla), Does.Contain(bangla.Normalize(NormalizationForm.FormC)));
        Assert.That(AlertCatalog.Default.RenderTemplate(ev, AlertLanguage.English), Does.Contain(english));
    }

    [Test]
    public void CountsUseClassifiersAndEnglishSingular()
    {
        var one = AlertEvent.Parse("""{"type": "intrusion", "severity": "high", "location": "Gate 4", "time": "2026-11-22T02:20:00+06:00", "sensor": "CAM-G4", "persons": 1, "action": "send_security"}""");
        Assert.That(AlertCatalog.Default.RenderTemplate(one, AlertLanguage.English), Does.Contain("1 person seen"));
        Assert.That(AlertCatalog.Default.RenderTemplate(one, AlertLanguage.Bangla), Does.Contain("১ জন অনুপ্রবেশকারী"));
        var fire = AlertEvent.Parse(AlertCatalog.Default.GetAlertType("fire").ExampleJson);
        Assert.That(AlertCatalog.Default.RenderTemplate(fire, AlertLanguage.Bangla), Does.Contain("৩টি ইউনিট"));
        Assert.That(AlertCatalog.Default.RenderTemplate(fire, AlertLanguage.English), Does.Contain("3 fire units"));
    }

    [Test]
    public void SeverityWordsDifferPerLevel()
    {
        var labels = new HashSet<string>();
        foreach (var severity in Enum.GetValues<AlertSeverity>())
        {
            var ev = AlertEvent.Parse($$"""{"type": "smoke", "severity": "{{severity.ToCode()}}", "location": "Hall", "time": "2026-11-22T10:00:00+06:00", "sensor": "S1", "action": "check_area"}""");
            labels.Add(AlertCatalog.Default.RenderTemplate(ev, AlertLanguage.Bangla).Split(':')[0]);
            labels.Add(AlertCatalog.Default.RenderTemplate(ev, AlertLanguage.English).Split(':')[0]);
        }

        Assert.That(labels, Has.Count.EqualTo(10));
    }

    [Test]
    public void PublishedSchemaIsTheGeneratedOne()
    {
        // MICROLLM_UPDATE_SCHEMA=1 dotnet test --filter PublishedSchemaIsTheGeneratedOne rewrites the embedded file.
        if (Environment.GetEnvironmentVariable("MICROLLM_UPDATE_SCHEMA") == "1")
        {
            string path = Path.Combine(TestContext.CurrentContext.TestDirectory, "../../../../../src/MicroLlm.Guardrails/Catalog/alert-event.schema.json");
            File.WriteAllText(path, AlertCatalog.Default.GetEventSchema());
            Assert.Ignore("alert-event.schema.json rewritten; rebuild and run again.");
        }

        Assert.That(AlertCatalog.GetDefaultEventSchema(), Is.EqualTo(AlertCatalog.Default.GetEventSchema()),
            "alert-event.schema.json is stale; regenerate it from AlertCatalog.Default.GetEventSchema()");
        using var doc = System.Text.Json.JsonDocument.Parse(AlertCatalog.GetDefaultEventSchema());
        Assert.That(doc.RootElement.GetProperty("oneOf").GetArrayLength(), Is.EqualTo(AlertCatalog.Default.Types.Count));
    }

    [Test]
    public void HostCanExtendTheCatalogue()
    {
        var catalog = AlertCatalog.Default.Extend("""
            {"types": [{
              "name": "landslide", "title": {"en": "Landslide", "bn": "ভূমিধস"},
              "slots": {"sensor": {"kind": "id"}, "action": {"kind": "choice", "choices": {"leave_slope": {"en": "Leave the hillside now", "bn": "এখনই পাহাড়ের ঢাল ছেড়ে চলে যান"}}}},
              "templates": {"en": "{severity}: landslide risk at {location} at {time} (sensor {sensor}). {action}.",
                            "bn": "{severity}: ভূমিধসের ঝুঁকি। স্থান: {location}। সময়: {time}। সেন্সর: {sensor}। {action}।"},
              "example": {"type": "landslide", "severity": "high", "location": "Rangamati", "time": "2026-08-01T05:10:00+06:00", "sensor": "LS-9", "action": "leave_slope"}
            }]}
            """);
        Assert.That(catalog.TypeNames, Does.Contain("landslide").And.Contain("fire"));
        var ev = AlertEvent.Parse(catalog.GetAlertType("landslide").ExampleJson, catalog);
        Assert.That(catalog.RenderTemplate(ev, AlertLanguage.Bangla), Does.Contain("ভোর ৫টা ১০ মিনিট"));
        Assert.That(AlertCatalog.Default.TypeNames, Does.Not.Contain("landslide"));
    }

    [TestCase("""{"types": [{"name": "x", "title": {"en": "X", "bn": "এক্স"}, "slots": {"action": {"kind": "choice", "choices": {"go": {"en": "Go", "bn": "যান"}}}}, "templates": {"en": "{severity} at {location}. {action}.", "bn": "{severity}: {location}, {time}। {action}।"}, "example": {}}]}""", "must appear outside")]
    [TestCase("""{"types": [{"name": "x", "title": {"en": "X", "bn": "এক্স"}, "slots": {"sensor": {"kind": "id"}}, "templates": {"en": "", "bn": ""}, "example": {}}]}""", "'action'")]
    [TestCase("""{"units": {"cm": {"en": ["cm"], "bn": ["{n} সেমি"]}}}""", "exactly once")]
    [TestCase("""{"types": [{"name": "x", "title": {"en": "X", "bn": "এক্স"}, "slots": {"action": {"kind": "choice", "choices": {"go": {"en": "Go", "bn": "যান"}}}}, "templates": {"en": "{severity}: {location} {time} {nope}. {action}.", "bn": "{severity}: {location}, {time}। {action}।"}, "example": {}}]}""", "{nope}")]
    public void BrokenExtensionsAreRejectedWithThePlace(string json, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => AlertCatalog.Default.Extend(json));
        Assert.That(e!.Message, Does.Contain(expected));
    }

    [Test]
    public void AllCatalogueTextIsNfcAndValidBangla()
    {
        string json = AlertCatalog.GetDefaultCatalogJson();
        foreach (var type in AlertCatalog.Default.Types)
        {
            foreach (var language in new[] { AlertLanguage.English, AlertLanguage.Bangla })
            {
                string template = type.GetTemplate(language);
                Assert.That(NfcTests.IsBanglaNfc(template), Is.True);
                Assert.That(template, Does.Not.Contain("\u200D").And.Not.Contain("\u200C"));
            }
        }

        Assert.That(json, Does.Not.Contain("\u200D").And.Not.Contain("\u200C"));
    }
}
