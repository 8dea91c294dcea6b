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

    public void Print(TextWriter o, int boardBytes, (double Commands, double RoundTrips, double AllocatedBytes) perHeartbeat, (double At10k, double At100k) rebuildMs, double memoryPerUser)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine();
        o.WriteLine(string.Create(c, $"Presence benchmark ({(quick ? "quick" : "full")}) {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC"));
        o.WriteLine(string.Create(c, $"machine: {Environment.ProcessorCount} cores, {CpuModel()}, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, load {LoadAverage()}"));
        o.WriteLine(string.Create(c, $"method: {rounds} alternating rounds x {seconds} s per target, wrk -t1 -c{connections} on loopback; medians"));
        foreach (var command in _commands)
        {
            o.WriteLine("command: " + command);
        }

        o.WriteLine();
        PrintTargets(o);
        RestRows(o, perHeartbeat);
        BenchRows.Write(o, "Redis CPU per heartbeat: scripts' usec per heartbeat vs a plain ZADD's per call", string.Create(c, $"{_scriptUsec:F1} us vs {_zaddUsec:F2} us = {_scriptUsec / _zaddUsec:F1}x"), "<= 4x", _scriptUsec / _zaddUsec <= 4);
        BenchRows.Write(o, "allocations per store heartbeat, client side in process", string.Create(c, $"{_storeAllocated:F0} B"), "(context)", null);
        BoardRow(o, boardBytes);
        BenchRows.Write(o, "Redis round trips per heartbeat", string.Create(c, $"{perHeartbeat.RoundTrips:F2}"), "1", perHeartbeat.RoundTrips <= 1.01);
        BenchRows.Write(o, "Redis commands per heartbeat (incl. inside the script)", string.Create(c, $"{perHeartbeat.Commands:F2}"), "(context)", null);
        BenchRows.Write(o, "board rebuild, 10k therapists online", string.Create(c, $"{rebuildMs.At10k:F1} ms"), "<= 10 ms", rebuildMs.At10k <= 10);
        BenchRows.Write(o, "board rebuild, 100k therapists online", string.Create(c, $"{rebuildMs.At100k:F1} ms"), "<= 200 ms", rebuildMs.At100k <= 200);
        BenchRows.Write(o, "Redis memory per tracked user (100k)", string.Create(c, $"{memoryPerUser:F0} B"), "<= 512 B", memoryPerUser <= 512);
        BenchRows.Write(o, "first accepted heartbeat after Redis returns from an outage", string.Create(c, $"{_outageMs / 1000:F2} s"), "<= 2 s", _outageMs <= 2000);
    }

    /// <summary>The <c>rest</c> mode's table: the targets and the REST heartbeat's goal rows only.</summary>
    public void PrintRest(TextWriter o, (double Commands, double RoundTrips, double AllocatedBytes) perHeartbeat)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine();
        o.WriteLine(string.Create(c, $"Presence REST heartbeat benchmark ({(quick ? "quick" : "full")}) {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, load {LoadAverage()}"));
        o.WriteLine(string.Create(c, $"method: {rounds} alternating rounds x {seconds} s per target, wrk -t1 -c{connections} on loopback; medians"));
        PrintTargets(o);
        RestRows(o, perHeartbeat);
    }

    /// <summary>The <c>board</c> mode's table: the board and (d), and the board poll's goal row.</summary>
    public void PrintBoard(TextWriter o, int boardBytes)
    {
        o.WriteLine();
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Presence board poll benchmark ({(quick ? "quick" : "full")}) {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, load {LoadAverage()}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"method: {rounds} alternating rounds x {seconds} s per target, wrk -t1 -c{connections} on loopback; medians"));
        PrintTargets(o);
        BoardRow(o, boardBytes);
    }

    private void BoardRow(TextWriter o, int boardBytes)
    {
        Ratio(o, "board req/s vs (d) fixed JSON", "status-query GET board (1k therapists)", "(d) fixed JSON of the board's size", 0.9);
        BenchRows.Write(o, "board size (1k therapists)", string.Create(CultureInfo.InvariantCulture, $"{boardBytes} B"), "(context)", null);
    }

    /// <summary>The median of every target, then the head of the goal table.</summary>
    private void PrintTargets(TextWriter o)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine("| target | req/s | p50 ms | p99 ms | non-2xx |");
        o.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (name, runs) in _runs)
        {
            o.WriteLine(string.Create(c, $"| {name} | {Median(runs, r => r.RequestsPerSecond):F0} | {Median(runs, r => r.P50Ms):F2} | {Median(runs, r => r.P99Ms):F2} | {runs.Sum(r => r.Non2xx)} |"));
        }

        o.WriteLine();
        o.WriteLine("| figure | value | goal | verdict |");
        o.WriteLine("| --- | ---: | --- | --- |");
    }

    /// <summary>The REST heartbeat's goal rows: req/s against the naive heartbeat (and the JWT-only POST), bytes per heartbeat.</summary>
    private void RestRows(TextWriter o, (double Commands, double RoundTrips, double AllocatedBytes) perHeartbeat)
    {
        Ratio(o, "REST heartbeats/s vs (c) naive heartbeat", "heartbeat-api POST /v1/community/heartbeat", "(c) naive heartbeat: JWT + one ZADD", 0.8);
        Ratio(o, "REST heartbeats/s vs (b) JWT empty POST", "heartbeat-api POST /v1/community/heartbeat", "(b) empty POST behind JWT", null);
        BenchRows.Write(o, $"allocations per REST heartbeat in heartbeat-api (all threads, telemetry exported over OTLP, heartbeat traces at {Orchestrator.HeartbeatTraceRatio})",
            string.Create(CultureInfo.InvariantCulture, $"{perHeartbeat.AllocatedBytes:F0} B"), "<= 11.6 KB (half the first figure, 23.2 KB)", perHeartbeat.AllocatedBytes <= 11_600);
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private double _scriptUsec;
    private double _zaddUsec;
    private double _storeAllocated;
    private double _outageMs = double.PositiveInfinity;

    public void HeartbeatCost(double scriptUsec, double zaddUsec, double storeAllocated) =>
        (_scriptUsec, _zaddUsec, _storeAllocated) = (scriptUsec, zaddUsec, storeAllocated);

    public void Outage(double ms) => _outageMs = ms;

    private void Ratio(TextWriter o, string label, string subject, string baseline, double? goal)
    {
        if (_runs.TryGetValue(subject, out var a) && _runs.TryGetValue(baseline, out var b))
        {
            var ratio = Median(a, r => r.RequestsPerSecond) / Median(b, r => r.RequestsPerSecond);
            BenchRows.Write(o, label, string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}x"),
                goal is { } g ? string.Create(CultureInfo.InvariantCulture, $">= {g:F1}x") : "(context)", goal is { } min ? ratio >= min : null);
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
