using System.Globalization;
using System.Text.RegularExpressions;

namespace Presence.Benchmarks;

/// <summary>One wrk run's figures.</summary>
internal sealed record WrkResult(double RequestsPerSecond, double P50Ms, double P99Ms, long Requests, long Non2xx);

/// <summary>Drives a URL with wrk (C, epoll) on loopback and parses its report.</summary>
internal static partial class Wrk
{
    public static async Task<WrkResult> RunAsync(string url, int connections, int seconds, string? script = null, params string[] scriptArgs)
    {
        var args = new List<string> { "-t1", $"-c{connections}", $"-d{seconds}s", "--latency" };
        if (script is not null)
        {
            args.AddRange(["-s", script]);
        }

        args.Add(url);
        if (scriptArgs.Length > 0)
        {
            args.Add("--");
            args.AddRange(scriptArgs);
        }

        var output = await Processes.RunAsync("wrk", [.. args]);
        return Parse(output);
    }

    public static WrkResult Parse(string output)
    {
        var rps = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var requests = long.Parse(RequestCount().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var non2xx = NonSuccess().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        return new WrkResult(rps, Percentile(output, "50"), Percentile(output, "99"), requests, non2xx);
    }

    private static double Percentile(string output, string p)
    {
        var match = Regex.Match(output, @"^\s+" + p + @"%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestCount();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NonSuccess();
}
