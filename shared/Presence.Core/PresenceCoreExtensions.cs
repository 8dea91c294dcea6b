using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Presence.Core;

public static class PresenceCoreExtensions
{
    /// <summary>
    /// Registers the options (validated at start), keys, resilience, metrics and the store. Expects an
    /// <see cref="StackExchange.Redis.IConnectionMultiplexer"/> from the service defaults.
    /// </summary>
    public static IServiceCollection AddPresenceCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<PresenceOptions, PresenceOptionsValidator>(configuration.GetSection(PresenceOptions.Section));
        services.AddOptions<RedisResilienceOptions>().Bind(configuration.GetSection(RedisResilienceOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<PresenceKeys>();
        services.TryAddSingleton<RedisResilience>();
        services.TryAddSingleton<PresenceMetrics>();
        services.TryAddSingleton<ScriptRunner>();
        services.TryAddSingleton<PresenceStore>();
        services.TryAddSingleton<ConnectionStore>();
        services.TryAddSingleton<PresenceReader>();
        services.TryAddSingleton<PresenceEventStream>();
        services.AddHostedService<ScriptPreloader>();
        return services;
    }
}
