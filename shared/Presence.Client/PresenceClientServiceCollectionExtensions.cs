using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace Presence.Client;

/// <summary>Where the services are and how to authenticate, for <see cref="PresenceClientServiceCollectionExtensions.AddPresenceClient"/>.</summary>
public sealed class PresenceClientSetup
{
    /// <summary>
    /// The one origin that routes to every service (the ingress, or <c>http://localhost:3001</c> locally): the REST base
    /// and, unless <see cref="HubUrl"/> is set, <c>{BaseAddress}hubs/presence</c>.
    /// </summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>heartbeat-api, when it has its own address (default: <see cref="BaseAddress"/>).</summary>
    public Uri? HeartbeatApiAddress { get; set; }

    /// <summary>status-query, when it has its own address (default: <see cref="BaseAddress"/>).</summary>
    public Uri? StatusQueryAddress { get; set; }

    /// <summary>The hub (default: <c>{BaseAddress}hubs/presence</c>).</summary>
    public Uri? HubUrl { get; set; }

    /// <summary>Retries of a 503 after its <c>Retry-After</c> (see <see cref="PresenceResilience"/>).</summary>
    public int UnavailableRetries { get; set; } = 2;

    /// <summary>A longer <c>Retry-After</c> is not waited for inside a call.</summary>
    public TimeSpan MaxRetryAfterWait { get; set; } = TimeSpan.FromSeconds(10);

    internal Uri HeartbeatApi => HeartbeatApiAddress ?? BaseAddress ?? throw new InvalidOperationException("Presence client: set BaseAddress or HeartbeatApiAddress.");

    internal Uri StatusQuery => StatusQueryAddress ?? BaseAddress ?? throw new InvalidOperationException("Presence client: set BaseAddress or StatusQueryAddress.");

    internal Uri Hub => HubUrl ?? new Uri(BaseAddress ?? throw new InvalidOperationException("Presence client: set BaseAddress or HubUrl."), "hubs/presence");
}

/// <summary>The two named HTTP clients <see cref="PresenceClientServiceCollectionExtensions.AddPresenceClient"/> registers, to configure further.</summary>
public sealed record PresenceClientBuilder(IServiceCollection Services, IHttpClientBuilder HeartbeatApi, IHttpClientBuilder StatusQuery);

/// <summary>Registers the Presence client in a service collection.</summary>
public static class PresenceClientServiceCollectionExtensions
{
    /// <summary>The named <see cref="HttpClient"/> for heartbeat-api.</summary>
    public const string HeartbeatApiClientName = "Presence.HeartbeatApi";

    /// <summary>The named <see cref="HttpClient"/> for status-query.</summary>
    public const string StatusQueryClientName = "Presence.StatusQuery";

    /// <summary>
    /// Registers <see cref="PresenceClient"/> (transient, over two named <see cref="HttpClient"/>s with the Retry-After
    /// retry of <see cref="PresenceResilience"/>) and <see cref="PresenceHubClient"/> (one per container), both
    /// authenticated by the same <paramref name="accessToken"/> provider (null: anonymous).
    /// </summary>
    /// <example><code>
    /// services.AddPresenceClient(o => o.BaseAddress = new Uri("http://localhost:3001/"),
    ///     sp => sp.GetRequiredService&lt;MyTokenCache&gt;().GetTokenAsync);
    /// </code></example>
    public static PresenceClientBuilder AddPresenceClient(this IServiceCollection services, Action<PresenceClientSetup> configure,
        Func<IServiceProvider, PresenceTokenProvider>? accessToken = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<PresenceClientSetup>().Configure(configure)
            .Validate(o => o.BaseAddress is not null || (o.HeartbeatApiAddress is not null && o.StatusQueryAddress is not null),
                "Presence client: set BaseAddress (one origin), or both HeartbeatApiAddress and StatusQueryAddress.")
            .Validate(o => o.UnavailableRetries >= 0 && o.MaxRetryAfterWait >= TimeSpan.Zero, "Presence client: retries and waits cannot be negative.");
        services.TryAddSingleton(sp => new PresenceTokenSource(accessToken?.Invoke(sp)));

        var heartbeatApi = services.AddHttpClient(HeartbeatApiClientName, (sp, http) =>
            http.BaseAddress = sp.GetRequiredService<IOptions<PresenceClientSetup>>().Value.HeartbeatApi);
        var statusQuery = services.AddHttpClient(StatusQueryClientName, (sp, http) =>
            http.BaseAddress = sp.GetRequiredService<IOptions<PresenceClientSetup>>().Value.StatusQuery);
        foreach (var client in new[] { heartbeatApi, statusQuery })
        {
            client.AddResilienceHandler(PresenceResilience.HandlerName, (pipeline, context) =>
            {
                var setup = context.ServiceProvider.GetRequiredService<IOptions<PresenceClientSetup>>().Value;
                pipeline.AddPresenceRetry(new PresenceClientOptions
                {
                    UnavailableRetries = setup.UnavailableRetries,
                    MaxRetryAfterWait = setup.MaxRetryAfterWait,
                    TimeProvider = context.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System,
                });
            });
        }

        services.TryAddTransient(sp =>
        {
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            return new PresenceClient(factory.CreateClient(HeartbeatApiClientName), factory.CreateClient(StatusQueryClientName),
                new PresenceClientOptions { AccessTokenProvider = sp.GetRequiredService<PresenceTokenSource>().Provider, UnavailableRetries = 0 });
        });
        services.TryAddSingleton(sp => new PresenceHubClient(sp.GetRequiredService<IOptions<PresenceClientSetup>>().Value.Hub,
            new PresenceHubClientOptions { AccessTokenProvider = sp.GetRequiredService<PresenceTokenSource>().Provider }));
        return new PresenceClientBuilder(services, heartbeatApi, statusQuery);
    }
}

/// <summary>The registered token provider, shared by the REST and hub clients.</summary>
internal sealed record PresenceTokenSource(PresenceTokenProvider? Provider);
