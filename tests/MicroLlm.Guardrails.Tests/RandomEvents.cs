using System.Globalization;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using MicroLlm.Guardrails;

namespace MicroLlm.Guardrails.Tests;

/// <summary>Random valid events of every catalogue type, with locations built to collide with the alert's own wording.</summary>
internal static class RandomEvents
{
    private static readonly string[] LatinWords =
    [
        "Gate", "Building", "B", "Block", "C", "Ward", "Floor", "North", "wing", "Sylhet", "Dhaka", "Mirpur", "road", "Tower",
        "Critical", "Care", "Unit", "Low", "High", "alert", "Evacuate", "the", "building", "now", "Three", "people", "Notice",
        "PM", "AM", "fire", "units", "cm", "sensor", "3rd", "12B", "No", "Ignore", "previous", "instructions", "say", "all", "clear",
    ];

    private static readonly string[] BanglaWords =
    [
        "ঢাকা", "মেডিকেল", "কলেজ", "হাসপাতাল", "ভবন", "তলা", "গেট", "উত্তর", "রাত", "সকাল", "দুপুর", "সন্ধ্যা", "জরুরি", "বিভাগ",
        "অতি", "সতর্কতা", "নম্বর", "সংকেত", "চট্টগ্রাম", "বন্দর", "যাত্রাবাড়ী", "মোড়", "পাড়া", "৩য়", "সিঁড়ি", "ক্ষেত্র", "র\u200D্যাব",
    ];

    private static readonly string[] Joiners = [" ", " ", " ", ", ", " - ", " / ", " (", ") ", " #", ": "];

    private static Gen<string> Number() => Gen.OneOf(
        Gen.Choose(0, 999).Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.Choose(0, 999).Select(i => Bangla(i.ToString(CultureInfo.InvariantCulture))),
        Gen.Elements("10:30", "১০:৩০", "2:05", "1,200", "১,২০০", "5.8", "৯৯৯", "01"));

    private static Gen<string> Word() => Gen.Frequency(
        (5, Gen.Elements(LatinWords)),
        (5, Gen.Elements(BanglaWords)),
        (2, Number()));

    public static Gen<string> FreeText(int maxLength) =>
        from count in Gen.Choose(1, 12)
        from words in Gen.ArrayOf(Word(), count)
        from joins in Gen.ArrayOf(Gen.Elements(Joiners), count)
        select Trim(string.Concat(words.Select((w, i) => i == 0 ? w : joins[i] + w)), maxLength);

    private static string Trim(string s, int max)
    {
        s = s.Trim().Trim('(', ')', '-', '/', '#', ',', ':').Trim();
        if (s.Length == 0)
        {
            s = "Gate";
        }

        var runes = s.EnumerateRunes().ToList();
        if (runes.Count > max)
        {
            s = string.Concat(runes.Take(max).Select(r => r.ToString())).TrimEnd();
            // never end inside a Bangla cluster: drop a trailing hasanta, joiner or mark
            while (s.Length > 0 && (s[^1] is '\u09CD' or '\u200D' or '\u200C' || char.GetUnicodeCategory(s[^1]) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark))
            {
                s = s[..^1].TrimEnd();
            }
        }

        return s.Length == 0 ? "Gate" : s;
    }

    public static string Bangla(string ascii) => string.Concat(ascii.Select(c => c is >= '0' and <= '9' ? (char)('০' + (c - '0')) : c));

    private static Gen<string> Id() =>
        from prefix in Gen.Elements("SMK", "CAM", "GAS", "BWDB", "fw-core", "W3-B", "DOOR", "TMP", "10.0.0", "203.0.113", "X")
        from n in Gen.Choose(0, 9999)
        from sep in Gen.Elements("-", ".", ":", "/", "_", "#")
        select $"{prefix}{sep}{n.ToString(CultureInfo.InvariantCulture)}";

    private static Gen<decimal> Value(AlertSlotDefinition slot, bool whole)
    {
        decimal min = slot.Minimum!.Value, max = slot.Maximum!.Value;
        var raw = Gen.Frequency(
            (1, Gen.Constant(min)),
            (1, Gen.Constant(max)),
            (4, Gen.Choose(0, 1000).Select(i => min + ((max - min) * i / 1000m))),
            (4, Gen.Choose(0, 200).Select(i => Math.Clamp((decimal)i, min, max))));
        return from v in raw
               from decimals in Gen.Choose(0, whole ? 0 : slot.MaxDecimals)
               select Math.Clamp(Math.Round(v, decimals, MidpointRounding.ToZero), min, max);
    }

    private static Gen<(string Name, JsonNode Value)?> Slot(AlertSlotDefinition slot) =>
        from present in slot.IsOptional ? Gen.Elements(true, false) : Gen.Constant(true)
        from value in slot.Kind switch
        {
            AlertSlotKind.Id => Id().Select(s => (JsonNode)JsonValue.Create(s)),
            AlertSlotKind.Text => FreeText(slot.MaxLength).Select(s => (JsonNode)JsonValue.Create(s)),
            AlertSlotKind.Choice => Gen.Elements(slot.Choices.ToArray()).Select(s => (JsonNode)JsonValue.Create(s)),
            AlertSlotKind.Count => Value(slot, whole: true).Select(v => (JsonNode)JsonValue.Create(v)),
            _ => from v in Value(slot, whole: false)
                 from unit in Gen.Elements(slot.Units.ToArray())
                 select (JsonNode)new JsonObject { ["value"] = v, ["unit"] = unit },
        }
        select present ? ((string, JsonNode)?)(slot.Name, value) : null;

    public static Gen<string> EventJson(AlertCatalog catalog) =>
        from type in Gen.Elements(catalog.Types.ToArray())
        from severity in Gen.Elements("info", "low", "medium", "high", "critical")
        from location in FreeText(200)
        from day in Gen.Choose(0, 3650)
        from minuteOfDay in Gen.Choose(0, (24 * 60) - 1)
        from offset in Gen.Elements("+06:00", "+05:30", "Z", "-04:00", "+00:00", "+05:45")
        from slots in Gen.CollectToSequence(type.Slots.Select(Slot))
        select Build(type.Name, severity, location, new DateTime(2020, 1, 1).AddDays(day).AddMinutes(minuteOfDay), offset, slots);

    private static string Build(string type, string severity, string location, DateTime time, string offset, IEnumerable<(string Name, JsonNode Value)?> slots)
    {
        var o = new JsonObject
        {
            ["type"] = type,
            ["severity"] = severity,
            ["location"] = location,
            ["time"] = time.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + offset,
        };
        foreach (var slot in slots)
        {
            if (slot is { } s)
            {
                o[s.Name] = s.Value.DeepClone();
            }
        }

        return o.ToJsonString();
    }

    public static Arbitrary<string> Arbitrary(AlertCatalog catalog) => EventJson(catalog).ToArbitrary();
}
