using Presence.Core.Intervals;

namespace Presence.HeartbeatApi.Tests;

public sealed class AdaptiveIntervalTests(RedisServer redis) : HostTests<HeartbeatApiFactory>(new(redis))
{
    private async Task<int> BeatAsync(HttpClient client, string path, string? body)
    {
        var response = await client.PostAsync(path, body is null ? null : Http.Json(body), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("nextHeartbeatSeconds").GetInt32();
    }

    [Fact]
    public async Task A_hidden_client_is_told_to_beat_half_as_often()
    {
        using var client = App.CreateClient(DevTokens.Community("c-hidden"));
        Assert.Equal(60, await BeatAsync(client, "/v1/community/heartbeat", """{"visible":false}"""));
        App.Time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(30, await BeatAsync(client, "/v1/community/heartbeat", """{"visible":true}"""));
    }

    [Fact]
    public async Task A_therapist_watched_by_id_on_a_gateway_is_told_to_beat_twice_as_often()
    {
        using var watchedClient = App.CreateClient(DevTokens.Therapist("t-watched"));
        using var otherClient = App.CreateClient(DevTokens.Therapist("t-other"));
        var watched = App.Services.GetRequiredService<WatchedTherapists>();
        // What a gateway does when one of its connections watches t-watched; this instance then re-reads the marks.
        await watched.MarkAsync(["t-watched"], Ct);
        await watched.RefreshAsync(Ct);

        Assert.Equal(15, await BeatAsync(watchedClient, "/v1/therapists/heartbeat", null));
        Assert.Equal(30, await BeatAsync(otherClient, "/v1/therapists/heartbeat", null));

        // The mark lapses unless renewed.
        App.Time.Advance(TimeSpan.FromSeconds(31));
        await watched.RefreshAsync(Ct);
        Assert.Equal(30, await BeatAsync(watchedClient, "/v1/therapists/heartbeat", null));
    }
}
