using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Time.Testing;

namespace Presence.Testing;

/// <summary>
/// A service under test, through its real pipeline (auth, validation, problem details), pointed at a
/// real <see cref="RedisServer"/> (or <see cref="RedisCluster"/>) with a key prefix of its own and a <see cref="FakeTimeProvider"/>.
/// Extra settings (<c>Presence:OnlineWindow</c>, ...) go in through <see cref="Settings"/> before first use.
/// </summary>
public class PresenceAppFactory<TProgram>(IRedisBackend redis) : WebApplicationFactory<TProgram>
    where TProgram : class
{
    public IRedisBackend Redis { get; } = redis;

    public string KeyPrefix { get; } = RedisServer.NewKeyPrefix();

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public Dictionary<string, string?> Settings { get; } = [];

    public PresenceKeys Keys => new(KeyPrefix);

    public HttpClient CreateClient(string? token)
    {
        var client = CreateClient();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("ConnectionStrings:redis", Redis.ConnectionString);
        builder.UseSetting("Presence:KeyPrefix", KeyPrefix);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Time));
    }
}
