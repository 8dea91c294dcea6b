using System.Collections.Concurrent;
using System.Diagnostics;

namespace Presence.HeartbeatApi.Tests;

/// <summary>
/// heartbeat-api on a 3-primary cluster with a replica each, while the primary of the therapist slot dies
/// (SIGKILL) and its replica takes over: every answer is 200 or 503 with Retry-After (never 500, never a hang).
/// </summary>
public sealed class ClusterFailoverTests(ReplicatedRedisCluster cluster) : IClassFixture<ReplicatedRedisCluster>
{
    [Fact]
    public async Task Heartbeats_during_a_primary_failover_answer_200_or_503_with_retry_after_and_recover()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = new PresenceAppFactory<Program>(cluster);
        using (var warm = app.CreateClient(DevTokens.Therapist("warm")))
        {
            Assert.Equal(HttpStatusCode.OK, (await warm.PostAsync("/v1/therapists/heartbeat", null, ct)).StatusCode);
        }

        var answers = new ConcurrentQueue<(string Role, HttpStatusCode Status, bool RetryAfter, TimeSpan Elapsed)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sequence = 0;

        async Task BeatAsync(string role)
        {
            while (!stop.IsCancellationRequested)
            {
                // A new user each time: the per-user rate limit and the REST min interval stay out of the way.
                var id = $"{role[0]}-{Interlocked.Increment(ref sequence)}";
                using var client = app.CreateClient(role == "therapist" ? DevTokens.Therapist(id) : DevTokens.Community(id));
                var started = Stopwatch.GetTimestamp();
                using var response = await client.PostAsync(role == "therapist" ? "/v1/therapists/heartbeat" : "/v1/community/heartbeat", null, CancellationToken.None);
                answers.Enqueue((role, response.StatusCode, response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), Stopwatch.GetElapsedTime(started)));
                await Task.Delay(10, CancellationToken.None);
            }
        }

        var beaters = new[] { BeatAsync("therapist"), BeatAsync("therapist"), BeatAsync("community"), BeatAsync("community") };
        await Poll.UntilAsync(() => Task.FromResult(answers.Count > 20), "heartbeats are answered", timeout: TimeSpan.FromSeconds(10));

        var primary = await cluster.PrimaryForKeyAsync(new PresenceKeys(app.KeyPrefix).LastSeen(PresenceRole.Therapist, "t-failover"));
        await cluster.KillAsync(primary);
        await cluster.WaitForPromotionAsync(primary);
        var promotedAt = answers.Count;
        await Poll.UntilAsync(
            () => Task.FromResult(answers.Skip(promotedAt).Any(a => a.Role == "therapist" && a.Status == HttpStatusCode.OK)), "therapist heartbeats succeed again after the promotion", timeout:
            cluster.NodeTimeout + TimeSpan.FromSeconds(5));
        await stop.CancelAsync();
        await Task.WhenAll(beaters);

        Assert.All(answers, a => Assert.True(
            a.Status == HttpStatusCode.OK || (a.Status == HttpStatusCode.ServiceUnavailable && a.RetryAfter),
            $"{a.Role}: {(int)a.Status}, Retry-After {a.RetryAfter}"));
        Assert.All(answers, a => Assert.True(a.Elapsed < TimeSpan.FromSeconds(2), $"{a.Role}: answered after {a.Elapsed.TotalMilliseconds:F0} ms"));
    }
}
