namespace Presence.StatusQuery.Tests;

public sealed class StatsEndpointTests(RedisServer redis) : HostTests<StatusQueryApp>(new(redis))
{
    [Fact]
    public async Task Stats_count_every_role_and_bucket_for_anyone()
    {
        await App.BeatAsync("t-recent");
        await App.BeatAsync("c-recent", PresenceRole.Community);
        App.Time.Advance(TimeSpan.FromMinutes(10));
        await App.BeatAsync("t-online");
        await App.SetAvailableAsync("t-available");
        await App.BeatAsync("c-1", PresenceRole.Community);
        await App.BeatAsync("c-2", PresenceRole.Community);
        using var client = App.CreateClient(token: null);

        var json = await client.GetFromJsonAsync<JsonElement>("/v1/presence/stats", TestContext.Current.CancellationToken);

        var roles = json.GetProperty("roles");
        Assert.Equal((1, 1, 1), Counts(roles.GetProperty("therapist")));
        Assert.Equal((2, 1, 0), Counts(roles.GetProperty("community")));
        Assert.Equal(120, json.GetProperty("thresholds").GetProperty("onlineSeconds").GetInt32());
    }

    private static (int, int, int) Counts(JsonElement c) =>
        (c.GetProperty("online").GetInt32(), c.GetProperty("recent").GetInt32(), c.GetProperty("available").GetInt32());
}
