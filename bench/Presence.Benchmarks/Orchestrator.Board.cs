namespace Presence.Benchmarks;

internal static partial class Orchestrator
{
    /// <summary>
    /// Only the board poll row, for working on status-query's poll path without the rest of part 1: the board of
    /// 1k therapists and (d), fixed bytes of the same size, in alternating rounds. (d) is checked to send the
    /// board's size, so the ratio compares the same bytes on the wire.
    /// </summary>
    public static async Task<int> BoardAsync(bool quick)
    {
        await using var bench = await Bench.StartAsync(quick, quickRounds: 3);
        var (rounds, seconds, report) = (bench.Rounds, bench.Seconds, bench.Report);
        var baselineUrl = await bench.StartBaselinesAsync();
        var statusUrl = await bench.StartServiceAsync("status-query", "Presence.StatusQuery", baselineUrl);
        var boardBytes = await CaptureBoardAsync(new StoreClient(bench.Redis), statusUrl, baselineUrl, bench.BoardFile, therapists: 1000);

        report.Command($"wrk -t1 -c{Connections} -d{seconds}s --latency URL");
        await Wrk.RunAsync(statusUrl + "/v1/therapists/status/realtime", Connections, 3);
        await Wrk.RunAsync(baselineUrl + "/d", Connections, 3);
        var targets = new (string Name, string Url)[]
        {
            ("status-query GET board (1k therapists)", statusUrl + "/v1/therapists/status/realtime"),
            ("(d) fixed JSON of the board's size", baselineUrl + "/d"),
        };
        await AlternatingRoundsAsync(report, rounds, targets, t => t.Name, t => Wrk.RunAsync(t.Url, Connections, seconds));

        report.PrintBoard(Console.Out, boardBytes);
        return 0;
    }
}
