namespace Presence.HeartbeatApi.Tests;

/// <summary>Uses a Redis of its own, so no other test can have loaded the scripts before the service starts.</summary>
public sealed class ScriptPreloadTests(PrivateRedis own) : HostTests<HeartbeatApiFactory>(new(own.Server)), IClassFixture<PrivateRedis>
{
    [Fact]
    public async Task Scripts_are_loaded_into_redis_at_start_before_any_request()
    {
        var server = own.Server.Client.GetServer(own.Server.Client.GetEndPoints()[0]);
        var heartbeatSha = System.Security.Cryptography.SHA1.HashData(
            System.Text.Encoding.UTF8.GetBytes(Core.RedisScript.FromResource("presence").Text));
        Assert.False(await server.ScriptExistsAsync(heartbeatSha));

        _ = App.Services; // starts the host; no request is sent

        await Poll.UntilAsync(() => server.ScriptExistsAsync(heartbeatSha), "presence script loaded", timeout: TimeSpan.FromSeconds(10));
    }
}
