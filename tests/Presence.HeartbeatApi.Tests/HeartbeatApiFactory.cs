namespace Presence.HeartbeatApi.Tests;

public sealed class HeartbeatApiFactory(RedisServer redis) : PresenceAppFactory<Program>(redis)
{
    public IDatabase Db => Redis.Database;

    public async Task<bool> AnyKeyAsync()
    {
        var server = Redis.Client.GetServer(Redis.Client.GetEndPoints()[0]);
        await foreach (var _ in server.KeysAsync(pattern: KeyPrefix + ":*"))
        {
            return true;
        }

        return false;
    }

    /// <summary>A refused request: this status, a problem-details body, and not one key written to Redis.</summary>
    public async Task AssertRefusedAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        await response.ProblemAsync(status);
        Assert.False(await AnyKeyAsync());
    }
}

internal static class Http
{
    public static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
}
