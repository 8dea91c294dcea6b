using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Presence.Deployment.Tests;

/// <summary>
/// Every service under services/, booted through its real <c>Program</c> (WebApplicationFactory against a real
/// redis-server), for what only the running host knows: its endpoint table and its configuration.
/// Each service has a top-level <c>Program</c> in the global namespace, so they are loaded by assembly name.
/// </summary>
public sealed class ServiceHosts : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private readonly Dictionary<string, ServiceApp> _apps = [];

    /// <summary>The prod overlay's DOTNET_SHUTDOWNTIMEOUTSECONDS of the service, as its container's environment holds it.</summary>
    public static string ManifestShutdownTimeoutSeconds(ServiceProject service) =>
        Kustomize.Overlay("prod").Get("Deployment", service.Folder).App().EnvValue("DOTNET_SHUTDOWNTIMEOUTSECONDS")
            ?? throw new InvalidOperationException($"{service}: the prod Deployment sets no DOTNET_SHUTDOWNTIMEOUTSECONDS");

    public RedisServer Redis => _redis;

    public async ValueTask InitializeAsync()
    {
        await _redis.InitializeAsync();
        foreach (var service in Repo.Services)
        {
            // What the host reads from DOTNET_SHUTDOWNTIMEOUTSECONDS (the DOTNET_ prefix stripped), from the manifest.
            _apps[service.Folder] = ServiceApp.Create(service, _redis, new Dictionary<string, string?>
            {
                ["SHUTDOWNTIMEOUTSECONDS"] = ManifestShutdownTimeoutSeconds(service),
            });
        }
    }

    public ServiceApp this[ServiceProject service] => _apps[service.Folder];

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps.Values)
        {
            await app.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }
}

/// <summary>One service's <see cref="IServiceHost"/> (Presence.Testing), with what only deployment tests ask of it.</summary>
public sealed class ServiceApp : IAsyncDisposable
{
    private readonly IServiceHost _host;

    private ServiceApp(ServiceProject service, IServiceHost host)
    {
        Service = service;
        _host = host;
    }

    public ServiceProject Service { get; }

    public IServiceProvider Services => _host.Services;

    public static ServiceApp Create(ServiceProject service, RedisServer redis, IDictionary<string, string?>? settings = null) =>
        new(service, Presence.Testing.ServiceHosts.Create(service.Assembly, redis, settings: settings?.AsReadOnly()));

    public HttpClient CreateClient(string? token = null) => _host.CreateClient(token);

    /// <summary>Every routed endpoint of the running host: its route template and HTTP methods.</summary>
    public IReadOnlyList<(string Template, IReadOnlyList<string> Methods)> Routes() =>
        [.. Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => ("/" + (e.RoutePattern.RawText ?? "").TrimStart('/'),
                (IReadOnlyList<string>)(e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.ToArray() ?? [])))
            .Distinct()];

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
