using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;

namespace Presence.RealtimeGateway.Tests;

/// <summary>
/// A Redis that answers but refuses writes (OOM under noeviction, MISCONF, READONLY on a replica) must not stop the
/// gateway: the lease loop counts each failed renewal, keeps going, and renews again once writes are accepted.
/// </summary>
public sealed class RedisRefusalTests(PrivateRedis own) : IClassFixture<PrivateRedis>
{
    private static readonly TimeSpan RenewalPace = TimeSpan.FromSeconds(5);

    [Theory]
    [MemberData(nameof(RedisFaults.Refusals), MemberType = typeof(RedisFaults))]
    public async Task The_lease_loop_survives_a_Redis_refusing_writes_and_renews_once_it_accepts_them(string fault)
    {
        var redis = own.Server;
        await using var gateway = new GatewayFactory(redis);
        using var errors = gateway.Services.Collect<long>("presence.redis.errors");
        await using var therapist = await gateway.ConnectAsync(DevTokens.Therapist("t-refused-" + fault));
        await therapist.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-refused-" + fault }, Ct);
        var stopping = gateway.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        await using var primary = new RedisServer();

        await redis.BreakAsync(fault, primary);
        try
        {
            // Drive the loop through failed renewals: each one counted under its class, none stops the host.
            await Poll.UntilAsync(() =>
                {
                    gateway.Time.Advance(RenewalPace);
                    return LeaseErrors(errors).Count >= 3;
                },
                () => "the lease loop did not report 3 failed renewals; saw " + string.Join(", ", LeaseErrors(errors)),
                TimeSpan.FromSeconds(30));
            // The refusal is counted under its own class. A replica's READONLY is transient (a failover), so it may open
            // the shared breaker before the lease loop's own call: then the loop sees breaker-open, and the READONLY was
            // counted by whichever call met it first (the consumer's read, the hub's session write).
            Assert.Contains(fault, fault == "readonly" ? AllErrors(errors) : LeaseErrors(errors));
            Assert.False(stopping.IsCancellationRequested, "the gateway host began to stop");
            using var http = gateway.CreateClient();
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/health/live", Ct)).StatusCode);
        }
        finally
        {
            await redis.RepairAsync(fault);
        }

        // Recovery: the loop renews the lease again (its score moves past the time of the repair).
        var repairedAt = gateway.Time.GetUtcNow().ToUnixTimeMilliseconds();
        await Poll.UntilAsync(async () =>
            {
                gateway.Time.Advance(RenewalPace);
                var until = await redis.Database.SortedSetScoreAsync(gateway.PresenceKeys.GatewayInstances, gateway.InstanceId);
                return until > repairedAt + RenewalPace.TotalMilliseconds;
            },
            () => "the lease was not renewed after Redis accepted writes again", TimeSpan.FromSeconds(30));
        Assert.False(stopping.IsCancellationRequested, "the gateway host began to stop");
        Assert.Equal(HubConnectionState.Connected, therapist.State);
    }

    private static List<string> AllErrors(MetricCollector<long> errors) =>
        [.. errors.GetMeasurementSnapshot().Select(m => (string)m.Tags["class"]!)];

    private static List<string> LeaseErrors(MetricCollector<long> errors) =>
        [.. errors.GetMeasurementSnapshot()
            .Where(m => m.Tags.TryGetValue("loop", out var loop) && (string?)loop == "gateway-lease")
            .Select(m => (string)m.Tags["class"]!)];
}
