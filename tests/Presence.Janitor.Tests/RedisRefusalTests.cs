using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;

namespace Presence.Janitor.Tests;

/// <summary>
/// A Redis that answers but refuses writes (OOM under noeviction, MISCONF, READONLY on a replica) must not stop the
/// janitor: the sweep and the leader lease count each failure under its class, back off and carry on, and the
/// janitor sweeps again once writes are accepted.
/// </summary>
public sealed class RedisRefusalTests(PrivateRedis own) : IClassFixture<PrivateRedis>
{
    [Theory]
    [MemberData(nameof(RedisFaults.Refusals), MemberType = typeof(RedisFaults))]
    public async Task The_janitor_keeps_running_through_a_Redis_refusing_writes_and_sweeps_once_it_accepts_them(string fault)
    {
        var redis = own.Server;
        await using var app = new JanitorAppFactory(redis);
        // The renewal comes every third of the lease: a short one puts a few of them inside the fault.
        app.Settings["Janitor:LeaseDuration"] = "00:00:30";
        using var errors = app.Services.Collect<long>("presence.redis.errors");
        using var client = app.CreateClient();
        await app.AdvanceUntilAsync(() => Task.FromResult(app.Lease.IsLeader));
        var stopping = app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var store = app.Get<PresenceStore>();
        var window = app.Get<Microsoft.Extensions.Options.IOptions<PresenceOptions>>().Value.OnlineWindow;
        // A user who lapses during the fault gives the sweep a write to make (its 'recent' event).
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-before-" + fault, HeartbeatTransport.Rest), Ct);
        await using var primary = new RedisServer();

        await redis.BreakAsync(fault, primary);
        try
        {
            // Step by step, so the leader keeps its lease. OOM refuses the presence script as a whole (it declares itself
            // with a shebang), so the sweep fails and counts it; the lease's renewal (PEXPIRE, which does not grow memory)
            // still goes through. MISCONF and READONLY refuse every write: each loop counts its failures (READONLY soon
            // opens the circuit: breaker-open).
            await app.AdvanceUntilAsync(() => Task.FromResult(
                Errors(errors, RedisLoops.JanitorSweep).Count >= 2
                && (fault == "oom" || Errors(errors, RedisLoops.JanitorLeader).Count >= 1)
                && AllErrors(errors).Contains(fault)));

            Assert.False(stopping.IsCancellationRequested, "the janitor host began to stop");
            using var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative), Ct);
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }
        finally
        {
            await redis.RepairAsync(fault);
        }

        // Recovery: a user who lapses after the repair is swept to recent by the same, still running, workers.
        await app.AdvanceUntilAsync(() => Task.FromResult(app.Lease.IsLeader), timeout: TimeSpan.FromSeconds(30));
        await app.AdvanceUntilAsync(async () =>
        {
            try
            {
                await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-after-" + fault, HeartbeatTransport.Hub), Ct);
                return true;
            }
            catch (RedisUnavailableException)
            {
                return false;
            }
        }, timeout: TimeSpan.FromSeconds(30));
        app.Time.Advance(window);
        await app.AdvanceUntilAsync(async () => (await app.StatusesAsync(PresenceRole.Therapist, "t-after-" + fault)).Contains("recent"),
            timeout: TimeSpan.FromSeconds(30));
        Assert.False(stopping.IsCancellationRequested, "the janitor host began to stop");
    }

    private static List<string> Errors(MetricCollector<long> errors, string loop) =>
        [.. errors.GetMeasurementSnapshot()
            .Where(m => m.Tags.TryGetValue("loop", out var tag) && (string?)tag == loop)
            .Select(m => (string)m.Tags["class"]!)];

    private static List<string> AllErrors(MetricCollector<long> errors) =>
        [.. errors.GetMeasurementSnapshot().Select(m => (string)m.Tags["class"]!)];
}
