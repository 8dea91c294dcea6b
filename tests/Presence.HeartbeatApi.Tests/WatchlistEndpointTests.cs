using Presence.Core.Engagement;

namespace Presence.HeartbeatApi.Tests;

public sealed class WatchlistEndpointTests(RedisServer redis) : HostTests<HeartbeatApiFactory>(new(redis))
{
    private EngagementKeys Keys => new(App.Keys);

    private static async Task<string[]> IdsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        return [.. body.GetProperty("therapistIds").EnumerateArray().Select(e => e.GetString()!)];
    }

    [Fact]
    public async Task A_community_user_replaces_and_reads_its_own_list_and_the_reverse_index_follows()
    {
        using var client = App.CreateClient(DevTokens.Community("c-1"));
        Assert.Empty(await IdsAsync(await client.GetAsync("/v1/community/watchlist", Ct)));

        Assert.Equal(["t-a", "t-b"], await IdsAsync(await client.PutAsync("/v1/community/watchlist", Http.Json("""{"therapistIds":["t-b","t-a","t-b"]}"""), Ct)));
        Assert.Equal(["t-b", "t-c"], await IdsAsync(await client.PutAsync("/v1/community/watchlist", Http.Json("""{"therapistIds":["t-c","t-b"]}"""), Ct)));

        Assert.Equal(["t-b", "t-c"], await IdsAsync(await client.GetAsync("/v1/community/watchlist", Ct)));
        Assert.False(await App.Db.SetContainsAsync(Keys.Watchers("t-a"), "c-1"));
        Assert.True(await App.Db.SetContainsAsync(Keys.Watchers("t-c"), "c-1"));
        using var other = App.CreateClient(DevTokens.Community("c-2"));
        Assert.Empty(await IdsAsync(await other.GetAsync("/v1/community/watchlist", Ct)));

        Assert.Empty(await IdsAsync(await client.PutAsync("/v1/community/watchlist", Http.Json("""{"therapistIds":[]}"""), Ct)));
        Assert.False(await App.Db.KeyExistsAsync(Keys.Watchlist("c-1")));
        Assert.False(await App.Db.SetContainsAsync(Keys.Watchers("t-b"), "c-1"));
    }

    [Fact]
    public async Task Therapists_and_anonymous_callers_are_refused()
    {
        using var therapist = App.CreateClient(DevTokens.Therapist("t-1"));
        using var anonymous = App.CreateClient((string?)null);
        Assert.Equal(HttpStatusCode.Forbidden, (await therapist.GetAsync("/v1/community/watchlist", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await therapist.PutAsync("/v1/community/watchlist", Http.Json("""{"therapistIds":["t-2"]}"""), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/community/watchlist", Ct)).StatusCode);
        Assert.False(await App.AnyKeyAsync());
    }

    [Theory]
    [InlineData("""{"therapistIds":["bad id"]}""")]
    [InlineData("""{"therapistIds":null}""")]
    [InlineData("""{}""")]
    [InlineData("""{"therapistIds":"t-1"}""")]
    [InlineData("""{"therapistIds":[""")]
    public async Task Bad_lists_are_refused_with_400_and_change_nothing(string body)
    {
        using var client = App.CreateClient(DevTokens.Community("c-bad"));
        var response = await client.PutAsync("/v1/community/watchlist", Http.Json(body), Ct);
        await App.AssertRefusedAsync(response, HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("""{"therapistIds":["t-2","bad id"]}""")]
    [InlineData("""{"therapistIds":["t-2",null]}""")]
    [InlineData("""{"therapistIds":["t-2",7]}""")]
    public async Task One_bad_id_fails_the_body_as_it_is_read_and_the_list_stays(string body)
    {
        using var client = App.CreateClient(DevTokens.Community("c-keep"));
        Assert.Equal(["t-1"], await IdsAsync(await client.PutAsync("/v1/community/watchlist", Http.Json("""{"therapistIds":["t-1"]}"""), Ct)));

        var response = await client.PutAsync("/v1/community/watchlist", Http.Json(body), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("must match", (await response.ProblemAsync()).ToString(), StringComparison.Ordinal);
        Assert.Equal(["t-1"], await IdsAsync(await client.GetAsync("/v1/community/watchlist", Ct)));
    }

    [Fact]
    public async Task More_than_fifty_ids_are_refused_and_fifty_are_kept()
    {
        using var client = App.CreateClient(DevTokens.Community("c-many"));
        var fifty = Enumerable.Range(0, 50).Select(i => $"t-{i:00}").ToArray();
        var tooMany = JsonSerializer.Serialize(new { therapistIds = fifty.Append("t-50") });
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PutAsync("/v1/community/watchlist", Http.Json(tooMany), Ct)).StatusCode);
        Assert.Equal(fifty, await IdsAsync(await client.PutAsync("/v1/community/watchlist", Http.Json(JsonSerializer.Serialize(new { therapistIds = fifty })), Ct)));
    }
}
