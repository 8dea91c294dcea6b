using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Presence.StatusQuery.Tests;

/// <summary>
/// Polls of the whole board within the refresh interval are answered from the board held: the same bytes and
/// headers as the first answer, counted as cache hits, no second build, and whatever token the poll carries.
/// </summary>
public sealed class BoardFastPathTests(RedisServer redis) : IAsyncLifetime
{
    private readonly StatusQueryApp _app = new(redis);

    public async ValueTask InitializeAsync() => await _app.BeatAsync("t-held");

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private MetricCollector<T> Collect<T>(string instrument)
        where T : struct => new(_app.Services.GetRequiredService<IMeterFactory>(), "Presence", instrument);

    [Fact]
    public async Task Repeated_polls_get_the_same_answer_from_the_held_board_without_another_build()
    {
        using var builds = Collect<double>("presence.board.build.duration");
        using var cache = Collect<long>("presence.query.cache");
        using var poller = _app.CreateClient(token: null);

        using var first = await poller.GetAsync(StatusQueryApp.BoardUrl, Ct);
        var body = await first.Content.ReadAsByteArrayAsync(Ct);
        foreach (var _ in Enumerable.Range(0, 3))
        {
            using var repeat = await poller.GetAsync(StatusQueryApp.BoardUrl, Ct);
            Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
            Assert.Equal(body, await repeat.Content.ReadAsByteArrayAsync(Ct));
            Assert.Equal(first.Headers.ETag, repeat.Headers.ETag);
            Assert.Equal(first.Headers.CacheControl, repeat.Headers.CacheControl);
            Assert.Equal(first.Content.Headers.ContentType, repeat.Content.Headers.ContentType);
            Assert.Equal(body.Length, repeat.Content.Headers.ContentLength);
        }

        Assert.Single(builds.GetMeasurementSnapshot());
        Assert.Equal(3, cache.GetMeasurementSnapshot().Count(m => (string?)m.Tags["resource"] == "board" && (string?)m.Tags["result"] == "hit"));
    }

    [Fact]
    public async Task A_poll_with_a_bad_token_still_gets_the_anonymous_board()
    {
        using var anonymous = _app.CreateClient(token: null);
        var held = (await anonymous.GetAsync(StatusQueryApp.BoardUrl, Ct)).Headers.ETag;
        using var withBadToken = _app.CreateClient(token: "not-a-jwt");

        using var answer = await withBadToken.GetAsync(StatusQueryApp.BoardUrl, Ct);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(held, answer.Headers.ETag);
    }
}
