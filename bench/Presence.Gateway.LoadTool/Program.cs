using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using HdrHistogram;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Diagnostics.NETCore.Client;
using Presence.ServiceDefaults;
using Presence.Testing;

// Load tool for the realtime gateway (docs/benchmarks.md); how to run it is in README.md beside this file.
// Bounded: it connects only to the URL given (loopback by default), runs for --duration, then closes everything.
var o = LoadOptions.Parse(args);
Console.WriteLine($"target {o.Url}; {o.Connections} heartbeating connections, {o.Watchers} watchers, {o.Probers} probers; measuring {o.Duration.TotalSeconds:0} s");

var acks = new Samples();
var pushes = new Samples();
var errors = 0L;
using var stop = new CancellationTokenSource();

HubConnection Build(string? token)
{
    var url = token is null ? o.Url : o.Url + "?access_token=" + Uri.EscapeDataString(token);
    return new HubConnectionBuilder().WithUrl(url, HttpTransportType.WebSockets, c => c.SkipNegotiation = true).Build();
}

// Watchers: anonymous, all therapists; every probe transition reaches each of them.
var lastProbe = new ConcurrentDictionary<string, (string Status, long Sent)>();
var watchers = new List<HubConnection>();
for (var i = 0; i < o.Watchers; i++)
{
    var watcher = Build(token: null);
    watcher.On<Change>("presence-changed", change =>
    {
        // The v2 event carries the flag beside the status (docs/hub.md); older gateways sent it as the status.
        var flag = change.Available is { } available ? (available ? "available" : "unavailable") : change.Status;
        if (lastProbe.TryGetValue(change.Id, out var probe) && probe.Status == flag)
        {
            pushes.Add(Stopwatch.GetElapsedTime(probe.Sent));
        }
    });
    await watcher.StartAsync();
    await watcher.InvokeAsync<object>("watchTherapists");
    watchers.Add(watcher);
}

// Warm-up before the idle reading: a few users connect, join, beat and leave, so JIT, pools and the store's scripts
// are paid for before it, not counted per connection.
for (var i = 0; i < 20; i++)
{
    await using var warm = Build(DevTokens.Mint("community", "load-warm-" + i.ToString(CultureInfo.InvariantCulture), signingKey: o.SigningKey));
    await warm.StartAsync();
    await warm.InvokeAsync<Ack>("joinAsUser");
    await warm.InvokeAsync<Ack>("heartbeat", new { });
}

var rssBefore = o.GatewayPid is { } pid0 ? await GatewayMemory.RssAfterFullGcAsync(pid0) : null;

// Heartbeating users (community, as most of the population), opened in bounded parallel batches.
var users = new HubConnection[o.Connections];
var interval = o.Interval;
var opened = Stopwatch.StartNew();
await Parallel.ForAsync(0, o.Connections, new ParallelOptions { MaxDegreeOfParallelism = o.Ramp }, async (i, ct) =>
{
    var hub = Build(DevTokens.Mint("community", "load-c-" + i.ToString(CultureInfo.InvariantCulture), signingKey: o.SigningKey));
    try
    {
        await hub.StartAsync(ct);
        var ack = await hub.InvokeAsync<Ack>("joinAsUser", ct);
        interval ??= TimeSpan.FromSeconds(ack.NextHeartbeatSeconds);
        users[i] = hub;
    }
    catch (Exception ex) when (ex is not OperationCanceledException)
    {
        Interlocked.Increment(ref errors);
        await hub.DisposeAsync();
    }
});
var held = users.Count(u => u is { State: HubConnectionState.Connected });
Console.WriteLine($"opened {held} of {o.Connections} in {opened.Elapsed.TotalSeconds:0.0} s ({errors} failed); heartbeat interval {interval?.TotalSeconds ?? 30:0} s");
var rssHeld = o.GatewayPid is { } pid1 ? await GatewayMemory.RssAfterFullGcAsync(pid1) : null;

// Each user heartbeats on the advertised interval, at its own offset so the load is even.
var every = interval ?? TimeSpan.FromSeconds(30);
var loops = users.Where(u => u is not null).Select(async (hub, i) =>
{
    try
    {
        await Task.Delay(every * Random.Shared.NextDouble(), stop.Token);
        using var timer = new PeriodicTimer(every);
        do
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await hub.InvokeAsync<Ack>("heartbeat", new { }, stop.Token);
                acks.Add(Stopwatch.GetElapsedTime(started));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Interlocked.Increment(ref errors);
            }
        }
        while (await timer.WaitForNextTickAsync(stop.Token));
    }
    catch (OperationCanceledException)
    {
    }
}).ToArray();

// Probers: therapists toggling availability through the hub; each toggle is one event, one push per watcher.
var probers = Enumerable.Range(0, o.Probers).Select(async i =>
{
    var id = "load-t-" + i.ToString(CultureInfo.InvariantCulture);
    await using var hub = Build(DevTokens.Mint("therapist", id, signingKey: o.SigningKey));
    var available = false;
    try
    {
        await hub.StartAsync(stop.Token);
        await hub.InvokeAsync<Ack>("joinAsTherapist", new { therapistId = id }, stop.Token);
        await Task.Delay(o.ProbePeriod * Random.Shared.NextDouble(), stop.Token);
        using var timer = new PeriodicTimer(o.ProbePeriod);
        do
        {
            available = !available;
            lastProbe[id] = (available ? "available" : "unavailable", Stopwatch.GetTimestamp());
            try
            {
                await hub.InvokeAsync<Ack>("heartbeat", new { available }, stop.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Interlocked.Increment(ref errors);
            }
        }
        while (await timer.WaitForNextTickAsync(stop.Token));
    }
    catch (OperationCanceledException)
    {
    }
    catch (Exception)
    {
        // A prober that cannot connect or join counts as an error; the run goes on without it.
        Interlocked.Increment(ref errors);
    }
}).ToArray();

stop.CancelAfter(o.Duration);
await Task.WhenAll(loops.Concat(probers));

Console.WriteLine($"heartbeat-ack: {acks.Summary()}");
Console.WriteLine($"heartbeat->watcher push: {pushes.Summary()}");
Console.WriteLine($"errors: {errors}; connections still open: {users.Count(u => u is { State: HubConnectionState.Connected })} of {held}");
var rows = Console.Out;
Presence.Benchmarks.BenchRows.Write(rows, "gateway: connections held", $"{held} of {o.Connections}, {errors} errors", $"{o.Connections}", held == o.Connections && errors == 0);
if (rssBefore is { } before && rssHeld is { } after && held > 0)
{
    Console.WriteLine($"gateway RSS after a full GC {before / 1024.0:0} MiB idle -> {after / 1024.0:0} MiB with {held} connections: {(after - before) / (double)held:0.0} KiB per connection");
    var perConnection = (after - before) / (double)held;
    Presence.Benchmarks.BenchRows.Write(rows, $"gateway: memory per connection at {held} connections", string.Create(CultureInfo.InvariantCulture, $"{perConnection:0.0} KiB"), "<= 15 KiB", perConnection <= 15);
}

Presence.Benchmarks.BenchRows.Write(rows, $"gateway: heartbeat-ack p99 at {held} connections", string.Create(CultureInfo.InvariantCulture, $"{acks.P99():0.0} ms"), "<= 50 ms", acks.P99() <= 50);
Presence.Benchmarks.BenchRows.Write(rows, $"gateway: heartbeat -> watcher push p99 at {held} connections", string.Create(CultureInfo.InvariantCulture, $"{pushes.P99():0.0} ms"), "<= 250 ms", pushes.P99() <= 250);

await Parallel.ForEachAsync(users.Where(u => u is not null).Concat(watchers), new ParallelOptions { MaxDegreeOfParallelism = o.Ramp },
    async (hub, _) => await hub.DisposeAsync());

internal sealed record Ack(DateTimeOffset ServerTime, int NextHeartbeatSeconds);

internal sealed record Change(string Role, string Id, string Status, DateTimeOffset? LastActive, bool? Available);

/// <summary>Latencies in microseconds (1 us to 60 s, 3 significant digits), recorded from many threads.</summary>
internal sealed class Samples
{
    private const long Highest = 60_000_000;
    private readonly LongConcurrentHistogram _us = new(1, Highest, 3);

    public void Add(TimeSpan elapsed) => _us.RecordValue(Math.Clamp((long)elapsed.TotalMicroseconds, 1, Highest));

    public double P99() => _us.TotalCount == 0 ? double.PositiveInfinity : At(99);

    public string Summary() => _us.TotalCount == 0
        ? "no samples"
        : string.Create(CultureInfo.InvariantCulture,
            $"n={_us.TotalCount} p50={At(50):0.0} ms p90={At(90):0.0} ms p99={At(99):0.0} ms max={_us.GetMaxValue() / 1000.0:0.0} ms");

    private double At(double percentile) => _us.GetValueAtPercentile(percentile) / 1000.0;
}

internal static class GatewayMemory
{
    /// <summary>The runtime provider's GCHeapCollect keyword: enabling it makes the runtime run a full blocking GC (as dotnet-gcdump does).</summary>
    private const long GcHeapCollectKeyword = 0x800000;

    /// <summary>
    /// Resident set of the gateway (Linux, KiB) after a full blocking GC induced in it through its diagnostics port, and
    /// a few seconds for the freed memory to be given back: live memory rather than garbage not yet collected.
    /// </summary>
    public static async Task<long?> RssAfterFullGcAsync(int pid)
    {
        try
        {
            var session = new DiagnosticsClient(pid).StartEventPipeSession(
                new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GcHeapCollectKeyword), requestRundown: false);
            using (session)
            {
                var drain = session.EventStream.CopyToAsync(Stream.Null);
                await Task.Delay(TimeSpan.FromSeconds(2));
                await session.StopAsync(CancellationToken.None);
                await drain;
            }
        }
        catch (Exception ex) when (ex is DiagnosticsClientException or IOException or TimeoutException)
        {
            Console.WriteLine($"could not induce a GC in the gateway ({ex.GetType().Name}: {ex.Message}); reading RSS as it is");
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        return Rss.Kilobytes(pid);
    }
}

internal static class Rss
{
    /// <summary>Resident set of a process (Linux), for memory per connection.</summary>
    public static long? Kilobytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}

internal sealed class LoadOptions
{
    public string Url { get; private init; } = "http://127.0.0.1:5102/hubs/presence";

    public int Connections { get; private init; } = 1000;

    public int Watchers { get; private init; } = 5;

    public int Probers { get; private init; } = 5;

    // Above the hub's per-connection steady rate (one heartbeat per 2 s by default).
    public TimeSpan ProbePeriod { get; private init; } = TimeSpan.FromSeconds(2.5);

    public TimeSpan Duration { get; private init; } = TimeSpan.FromSeconds(120);

    public TimeSpan? Interval { get; private init; }

    public int Ramp { get; private init; } = 100;

    public int? GatewayPid { get; private init; }

    /// <summary>The gateway's HS256 key: the Development key unless the gateway runs as Production with its own.</summary>
    public string SigningKey { get; private init; } = PresenceAuthOptions.DevSigningKey;

    public static LoadOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        int Int(string key, int fallback) => values.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        TimeSpan Seconds(string key, TimeSpan fallback) =>
            values.TryGetValue(key, out var v) ? TimeSpan.FromSeconds(double.Parse(v, CultureInfo.InvariantCulture)) : fallback;
        var defaults = new LoadOptions();
        var url = values.GetValueOrDefault("url", defaults.Url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !uri.IsLoopback)
        {
            throw new ArgumentException("--url must be a loopback address: this tool only loads a gateway on this machine.");
        }

        return new LoadOptions
        {
            Url = url,
            Connections = Int("connections", defaults.Connections),
            Watchers = Int("watchers", defaults.Watchers),
            Probers = Int("probers", defaults.Probers),
            ProbePeriod = Seconds("probe-period", defaults.ProbePeriod),
            Duration = Seconds("duration", defaults.Duration),
            Interval = values.ContainsKey("interval") ? Seconds("interval", TimeSpan.Zero) : null,
            Ramp = Int("ramp", defaults.Ramp),
            GatewayPid = values.TryGetValue("gateway-pid", out var p) ? int.Parse(p, CultureInfo.InvariantCulture) : null,
            SigningKey = values.GetValueOrDefault("signing-key", defaults.SigningKey),
        };
    }
}
