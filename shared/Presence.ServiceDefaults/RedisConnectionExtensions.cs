using StackExchange.Redis;

namespace Presence.ServiceDefaults;

/// <summary>The one multiplexer of a process, from <c>ConnectionStrings:redis</c>.</summary>
public static class RedisConnectionExtensions
{
    public static void AddPresenceRedis(this IServiceCollection services)
    {
        services.TryAddSingleton<IConnectionMultiplexer>(sp =>
        {
            var configuration = sp.GetRequiredService<IConfiguration>();
            var connectionString = configuration.GetConnectionString("redis")
                ?? throw new InvalidOperationException("ConnectionStrings:redis is not set.");
            var options = ConfigurationOptions.Parse(connectionString);
            // Start and stay up while Redis is down; commands then fail at once instead of queueing.
            options.AbortOnConnectFail = false;
            options.BacklogPolicy = BacklogPolicy.FailFast;
            options.ConnectTimeout = Math.Min(options.ConnectTimeout, 2000);
            // Reconnect attempts every half second, not backing off to 10 s: Redis back from an outage is used at once.
            options.ReconnectRetryPolicy = new LinearRetry(500);
            options.AsyncTimeout = Math.Min(options.AsyncTimeout, 2000);
            options.SyncTimeout = Math.Min(options.SyncTimeout, 2000);
            options.ClientName ??= sp.GetRequiredService<IHostEnvironment>().ApplicationName;
            return ConnectionMultiplexer.Connect(options);
        });
    }
}
