using System.Globalization;
using System.Runtime.InteropServices;

namespace Presence.Benchmarks;

/// <summary>Collects every run and prints medians, ratios against the baselines and the goals, with the machine.</summary>
internal sealed class Report(bool quick, int rounds, int seconds, int connections)
{
    private readonly Dictionary<string, List<WrkResult>> _runs = [];
    private readonly List<string> _commands = [];

    public void Add(string name, WrkResult result)
    {
        if (!_runs.TryGetValue(name, out var list))
        {
            _runs[name] = list = [];
        }

        list.Add(result);
    }

    public void Command(string command) => _commands.Add(command);

    public void Print(TextWriter o, int boardBytes, (double Commands, double RoundTrips) perHeartbeat, (double At10k, double At100k) rebuildMs, double memoryPerUser)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine();
        o.WriteLine(string.Create(c, $"Presence benchmark ({(quick ? "quick" : "full")}) {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC"));
        o.WriteLine(string.Create(c, $"machine: {Environment.ProcessorCount} cores, {CpuModel()}, {RuntimeInformation.OSDescription}, .NET {Environment.Version}"));
        o.WriteLine(string.Create(c, $"method: {rounds} alternating rounds x {seconds} s per target, wrk -t1 -c{connections} on loopback; medians"));
        foreach (var command in _commands)
        {
            o.WriteLine("command: " + command);
        }

        o.WriteLine();
        o.WriteLine("| target | req/s | p50 ms | p99 ms | non-2xx |");
        o.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (name, runs) in _runs)
        {
            o.WriteLine(string.Create(c, $"| {name} | {Median(runs, r => r.RequestsPerSecond):F0} | {Median(runs, r => r.P50Ms):F2} | {Median(runs, r => r.P99Ms):F2} | {runs.Sum(r => r.Non2xx)} |"));
        }

        o.WriteLine();
        o.WriteLine("| figure | value | goal |");
        o.WriteLine("| --- | ---: | --- |");
        Ratio(o, "REST heartbeats/s vs (c) naive heartbeat", "heartbeat-api POST /v1/community/heartbeat", "(c) naive heartbeat: JWT + one ZADD", ">= 0.8x");
        Ratio(o, "REST heartbeats/s vs (b) JWT empty POST", "heartbeat-api POST /v1/community/heartbeat", "(b) empty POST behind JWT", "(context)");
        Ratio(o, "board req/s vs (d) fixed JSON", "status-query GET board (1k therapists)", "(d) fixed JSON of the board's size", ">= 0.8x");
        o.WriteLine(string.Create(c, $"| Redis round trips per heartbeat | {perHeartbeat.RoundTrips:F2} | 1 |"));
        o.WriteLine(string.Create(c, $"| Redis commands per heartbeat (incl. inside the script) | {perHeartbeat.Commands:F2} | (context) |"));
        o.WriteLine(string.Create(c, $"| board size (1k therapists) | {boardBytes} B | (context) |"));
        o.WriteLine(string.Create(c, $"| board rebuild, 10k therapists online | {rebuildMs.At10k:F1} ms | <= 20 ms |"));
        o.WriteLine(string.Create(c, $"| board rebuild, 100k therapists online | {rebuildMs.At100k:F1} ms | <= 200 ms |"));
        o.WriteLine(string.Create(c, $"| Redis memory per tracked user (100k) | {memoryPerUser:F0} B | <= 512 B |"));
    }

    private void Ratio(TextWriter o, string label, string subject, string baseline, string goal)
    {
        if (_runs.TryGetValue(subject, out var a) && _runs.TryGetValue(baseline, out var b))
        {
            var ratio = Median(a, r => r.RequestsPerSecond) / Median(b, r => r.RequestsPerSecond);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {label} | {ratio:F2}x | {goal} |"));
        }
    }

    private static double Median(List<WrkResult> runs, Func<WrkResult, double> value)
    {
        var sorted = runs.Select(value).Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }
}
