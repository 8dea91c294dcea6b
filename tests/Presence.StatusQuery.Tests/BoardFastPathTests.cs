using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Presence.StatusQuery.Tests;

/// <summary>
/// Polls of the whole board within the refresh interval are answered from the board held: the same bytes and
/// headers as the first answer, counted as cache hits, no second build, and whatever token the poll carries.
/// </summary>
public sealed class BoardFastPathTests(RedisServer redis)
{
    [Fact]
    public async Task Repeated_polls_get_the_same_answer_from_the_held_board_without_another_build()
    {
        await using var app = new StatusQueryApp(redis);
        await app.BeatAsync("t-1");
        var meters = app.Services.GetRequiredService<IMeterFactory>();
        using var builds = new MetricCollector<double>(meters, "Presence", "presence.board.build.duration");
        using var cache = new MetricCollector<long>(meters, "Presence", "presence.query.cache");
        using var client = app.CreateClient(token: null);

        using var first = await client.GetAsync(StatusQueryApp.BoardUrl, Ct);
        var body = await first.Content.ReadAsByteArrayAsync(Ct);
        for (var i = 0; i < 3; i++)
        {
            using var again = await client.GetAsync(StatusQueryApp.BoardUrl, Ct);
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.Equal(body, await again.Content.ReadAsByteArrayAsync(Ct));
            Assert.Equal(first.Headers.ETag, again.Headers.ETag);
            Assert.Equal(first.Headers.CacheControl, again.Headers.CacheControl);
            Assert.Equal(first.Content.Headers.ContentType, again.Content.Headers.ContentType);
            Assert.Equal(body.Length, again.Content.Headers.ContentLength);
        }

        Assert.Single(builds.GetMeasurementSnapshot());
        Assert.Equal(3, cache.GetMeasurementSnapshot().Count(m => (string?)m.Tags["resource"] == "board" && (string?)m.Tags["result"] == "hit"));
    }

    [Fact]
    public async Task A_poll_with_a_bad_token_still_gets_the_anonymous_board()
    {
        await using var app = new StatusQueryApp(redis);
        await app.BeatAsync("t-1");
        using var anonymous = app.CreateClient(token: null);
        using var first = await anonymous.GetAsync(StatusQueryApp.BoardUrl, Ct);
        using var badToken = app.CreateClient(token: "not-a-jwt");

        using var again = await badToken.GetAsync(StatusQueryApp.BoardUrl, Ct);

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(first.Headers.ETag, again.Headers.ETag);
    }
}
