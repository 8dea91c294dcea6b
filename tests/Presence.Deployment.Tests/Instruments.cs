using System.Text;
using System.Text.RegularExpressions;

namespace Presence.Deployment.Tests;

/// <summary>An instrument created in the code: <c>Meter.CreateCounter&lt;long&gt;("presence.heartbeats", "{heartbeat}", ...)</c>.</summary>
public sealed record Instrument(string Name, string Kind, string? Unit, string File)
{
    public bool IsCounter => Kind is "Counter" or "ObservableCounter";

    public bool IsHistogram => Kind is "Histogram";

    public bool IsGauge => !IsCounter && !IsHistogram;

    /// <summary>The Prometheus metric family: dots to underscores, the unit as a suffix, <c>_total</c> for counters.</summary>
    public string PrometheusName => PrometheusNaming.Family(this);

    /// <summary>The series names a query may use: the family for gauges and counters, _bucket/_sum/_count for histograms.</summary>
    public IEnumerable<string> PrometheusSeries =>
        IsHistogram ? [PrometheusName + "_bucket", PrometheusName + "_sum", PrometheusName + "_count"] : [PrometheusName];
}

/// <summary>Finds every <c>presence.*</c> instrument in the C# sources by its <c>Create*</c> call.</summary>
public static partial class CodeInstruments
{
    public static IReadOnlyList<Instrument> Scan(params string[] roots) =>
        [.. Repo.SourceFiles(roots).SelectMany(f => Find(File.ReadAllText(f), Path.GetRelativePath(Repo.Root, f)))
            .Where(i => i.Name.StartsWith("presence.", StringComparison.Ordinal))
            .DistinctBy(i => i.Name)
            .OrderBy(i => i.Name, StringComparer.Ordinal)];

    public static IEnumerable<Instrument> Find(string source, string file)
    {
        foreach (Match m in CreateCall().Matches(source))
        {
            var kind = m.Groups["kind"].Value;
            var args = Arguments(source, m.Index + m.Length);
            if (args.Count == 0 || Literal(args[0]) is not { } name)
            {
                continue;
            }

            var unit = args.Select(a => a.Trim()).Where(a => a.StartsWith("unit:", StringComparison.Ordinal))
                .Select(a => Literal(a["unit:".Length..])).FirstOrDefault();
            if (unit is null && !args.Any(a => a.Trim().StartsWith("unit:", StringComparison.Ordinal)))
            {
                // Positional: (name, unit, description) for recorded instruments, (name, callback, unit, description) for observable ones.
                var position = kind.StartsWith("Observable", StringComparison.Ordinal) ? 2 : 1;
                if (args.Count > position && !IsNamed(args[position]))
                {
                    unit = Literal(args[position]);
                }
            }

            yield return new Instrument(name, kind, unit, file);
        }
    }

    private static bool IsNamed(string arg) => NamedArgument().IsMatch(arg);

    private static string? Literal(string arg)
    {
        var m = StringLiteral().Match(arg);
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>The top-level arguments of the call whose '(' is just before <paramref name="start"/>.</summary>
    private static List<string> Arguments(string s, int start)
    {
        var args = new List<string>();
        var current = new StringBuilder();
        var depth = 0;
        for (var i = start; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '"' || c == '\'')
            {
                var end = i + 1;
                while (end < s.Length && s[end] != c)
                {
                    end += s[end] == '\\' ? 2 : 1;
                }

                current.Append(s, i, Math.Min(end, s.Length - 1) - i + 1);
                i = end;
                continue;
            }

            if (c is '(' or '[' or '{')
            {
                depth++;
            }
            else if (c is ')' or ']' or '}')
            {
                if (depth == 0)
                {
                    args.Add(current.ToString());
                    return args;
                }

                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                args.Add(current.ToString());
                current.Clear();
                continue;
            }

            current.Append(c);
        }

        return args;
    }

    [GeneratedRegex(@"\bCreate(?<kind>Counter|Histogram|UpDownCounter|ObservableGauge|ObservableCounter|ObservableUpDownCounter|Gauge)\s*(?:<[^>()]*>)?\s*\(")]
    private static partial Regex CreateCall();

    [GeneratedRegex(@"^\s*""((?:[^""\\]|\\.)*)""\s*$")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"^\s*[A-Za-z_][A-Za-z0-9_]*\s*:(?!:)")]
    private static partial Regex NamedArgument();
}

/// <summary>
/// The OpenTelemetry → Prometheus naming rules, as the .NET Prometheus exporter and the Collector's
/// prometheus exporter apply them (OTel specification, "Prometheus and OpenMetrics Compatibility").
/// The scrape test checks these against the real exporter for every kind and unit the code uses.
/// </summary>
public static partial class PrometheusNaming
{
    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        ["d"] = "days", ["h"] = "hours", ["min"] = "minutes", ["s"] = "seconds", ["ms"] = "milliseconds",
        ["us"] = "microseconds", ["ns"] = "nanoseconds", ["By"] = "bytes", ["KiBy"] = "kibibytes",
        ["MiBy"] = "mebibytes", ["GiBy"] = "gibibytes", ["KBy"] = "kilobytes", ["MBy"] = "megabytes",
        ["GBy"] = "gigabytes", ["%"] = "percent", ["Hz"] = "hertz", ["Cel"] = "celsius",
    };

    public static string Family(Instrument i)
    {
        var name = Sanitize(i.Name);
        var unit = UnitSuffix(i.Unit, i.IsGauge);
        if (unit.Length > 0 && !name.EndsWith("_" + unit, StringComparison.Ordinal))
        {
            name += "_" + unit;
        }

        if (i.IsCounter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }

        return name;
    }

    public static string Sanitize(string name) => Underscores().Replace(Invalid().Replace(name, "_"), "_");

    private static string UnitSuffix(string? unit, bool gauge)
    {
        if (string.IsNullOrEmpty(unit))
        {
            return "";
        }

        var u = Annotation().Replace(unit, "").Trim();
        if (u.Length == 0)
        {
            return "";
        }

        if (u == "1")
        {
            return gauge ? "ratio" : "";
        }

        var parts = u.Split('/', 2);
        var main = Units.GetValueOrDefault(parts[0], parts[0]);
        var suffix = parts.Length == 2 ? main + "_per_" + PerUnit(parts[1]) : main;
        return Sanitize(suffix).Trim('_');
    }

    private static string PerUnit(string unit) => unit switch
    {
        "s" => "second", "min" => "minute", "h" => "hour", "d" => "day", "w" => "week", "mo" => "month", "y" => "year",
        _ => Units.GetValueOrDefault(unit, unit),
    };

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Annotation();

    [GeneratedRegex("[^a-zA-Z0-9_:]")]
    private static partial Regex Invalid();

    [GeneratedRegex("__+")]
    private static partial Regex Underscores();
}

/// <summary>The metric names a PromQL expression selects.</summary>
public static partial class PromQl
{
    private static readonly HashSet<string> Keywords =
        ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"];

    public static IReadOnlyList<string> MetricNames(string expr)
    {
        var stripped = Strings().Replace(expr, "\"\"");
        stripped = Braces().Replace(stripped, " ");
        stripped = Ranges().Replace(stripped, " ");
        stripped = Grouping().Replace(stripped, " ");
        return [.. Identifier().Matches(stripped)
            .Where(m => !Keywords.Contains(m.Value.ToLowerInvariant()) && !FollowedByParen(stripped, m.Index + m.Length))
            .Select(m => m.Value)
            .Distinct()];
    }

    private static bool FollowedByParen(string s, int from)
    {
        while (from < s.Length && char.IsWhiteSpace(s[from]))
        {
            from++;
        }

        return from < s.Length && s[from] == '(';
    }

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""|'(?:[^'\\]|\\.)*'")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Braces();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![\w$.])[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();
}
