using System.Net;
using Presence.Testing;

namespace Presence.HeartbeatApi.Tests;

/// <summary>Stops its own Redis (a class fixture), so the assembly's shared server is never touched.</summary>
public sealed class WatchlistOutageTests(RedisServer ownRedis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly HeartbeatApiFactory _app = new(ownRedis);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await ownRedis.StartAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Redis_down_gives_503_with_retry_after_for_watchlist_reads_and_writes()
    {
        using var client = _app.CreateClient(DevTokens.Community("c-1"));
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync("/v1/community/watchlist", Http.Json("""{"therapistIds":["t-1"]}"""), Ct)).StatusCode);

        await ownRedis.StopAsync();

        foreach (var put in new[] { false, true, false, true })
        {
            var response = put
                ? await client.PutAsync("/v1/community/watchlist", Http.Json("""{"therapistIds":["t-2"]}"""), Ct)
                : await client.GetAsync("/v1/community/watchlist", Ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            await response.ProblemAsync();
        }
    }
}
