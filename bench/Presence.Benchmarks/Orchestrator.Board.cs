namespace Presence.Benchmarks;

internal static partial class Orchestrator
{
    /// <summary>
    /// Only the board poll row, for working on status-query's poll path without the rest of part 1: the board of
    /// 1k therapists and (d), fixed bytes of the same size, in alternating rounds. (d) is checked to send the
    /// board's size, so the ratio compares the same bytes on the wire. Also, stable under load where req/s is not: each
    /// process's CPU per request over its own rounds (the baselines' process also hosts the OTLP sink status-query
    /// exports to), and the bytes status-query allocates per poll (its runtime counter, as for heartbeats).
    /// </summary>
    public static async Task<int> BoardAsync(bool quick)
    {
        await using var bench = await Bench.StartAsync(quick, quickRounds: 3);
        var (rounds, seconds, report) = (bench.Rounds, bench.Seconds, bench.Report);
        var baselineUrl = await bench.StartBaselinesAsync();
        var baselines = bench.Processes.Started[^1];
        var statusUrl = await bench.StartServiceAsync("status-query", "Presence.StatusQuery", baselineUrl);
        var statusQuery = bench.Processes.Started[^1];
        var boardBytes = await CaptureBoardAsync(new StoreClient(bench.Redis), statusUrl, baselineUrl, bench.BoardFile, therapists: 1000);

        report.Command($"wrk -t1 -c{Connections} -d{seconds}s --latency URL");
        await Wrk.RunAsync(statusUrl + "/v1/therapists/status/realtime", Connections, 3);
        await Wrk.RunAsync(baselineUrl + "/d", Connections, 3);
        var targets = new (string Name, string Url, System.Diagnostics.Process Process)[]
        {
            ("status-query GET board (1k therapists)", statusUrl + "/v1/therapists/status/realtime", statusQuery),
            ("(d) fixed JSON of the board's size", baselineUrl + "/d", baselines),
        };
        var cpu = targets.ToDictionary(t => t.Name, _ => new List<double>());
        await AlternatingRoundsAsync(report, rounds, targets, t => t.Name, async t =>
        {
            var before = t.Process.TotalProcessorTime;
            var result = await Wrk.RunAsync(t.Url, Connections, seconds);
            cpu[t.Name].Add((t.Process.TotalProcessorTime - before).TotalMicroseconds / Math.Max(1, result.Requests));
            return result;
        });

        // Without metrics (OTEL_SDK_DISABLED, for a comparison by hand) there is no counter to read.
        var allocated = double.NaN;
        try
        {
            var allocatedBefore = await AllocatedBytesAsync(statusUrl);
            var polls = await Wrk.RunAsync(statusUrl + "/v1/therapists/status/realtime", 8, 3);
            allocated = (await AllocatedBytesAsync(statusUrl) - allocatedBefore) / Math.Max(1, polls.Requests);
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or FormatException)
        {
            Console.Error.WriteLine("no allocation counter: " + e.Message);
        }

        report.PrintBoard(Console.Out, boardBytes);
        var c = System.Globalization.CultureInfo.InvariantCulture;
        Console.WriteLine("CPU per request (process CPU over its rounds / requests, median of rounds): " + string.Join(", ", cpu.Select(kv =>
            FormattableString.Invariant($"{kv.Key} {kv.Value.Order().ElementAt(kv.Value.Count / 2):F1} us [{string.Join(", ", kv.Value.Select(v => v.ToString("F1", c)))}]"))));
        Console.WriteLine(string.Create(c, $"status-query allocated per poll (8 connections, 3 s, all threads): {allocated:F0} B"));
        return 0;
    }
}
