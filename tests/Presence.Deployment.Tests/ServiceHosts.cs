using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Presence.Testing;

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

    /// <summary>Given to every host as DOTNET_SHUTDOWNTIMEOUTSECONDS gives it (the prefix stripped), to show the host honours it.</summary>
    public const int ShutdownTimeoutSeconds = 37;

    public RedisServer Redis => _redis;

    public async ValueTask InitializeAsync()
    {
        await _redis.InitializeAsync();
        foreach (var service in Repo.Services)
        {
            _apps[service.Folder] = ServiceApp.Create(service, _redis, new Dictionary<string, string?>
            {
                ["SHUTDOWNTIMEOUTSECONDS"] = ShutdownTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
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

/// <summary>One service's <see cref="PresenceAppFactory{TProgram}"/>, made for its <c>Program</c> type by reflection.</summary>
public sealed class ServiceApp : IAsyncDisposable
{
    private readonly object _factory;

    private ServiceApp(ServiceProject service, object factory)
    {
        Service = service;
        _factory = factory;
    }

    public ServiceProject Service { get; }

    public IServiceProvider Services => (IServiceProvider)_factory.GetType().GetProperty("Services")!.GetValue(_factory)!;

    public static ServiceApp Create(ServiceProject service, RedisServer redis, IDictionary<string, string?>? settings = null)
    {
        var program = Type.GetType($"Program, {service.Assembly}", throwOnError: false)
            ?? throw new InvalidOperationException(
                $"No Program type in {service.Assembly}: add a ProjectReference to services/{service.Folder} in Presence.Deployment.Tests.csproj.");
        var factory = Activator.CreateInstance(typeof(PresenceAppFactory<>).MakeGenericType(program), redis)!;
        var extra = (Dictionary<string, string?>)factory.GetType().GetProperty("Settings")!.GetValue(factory)!;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            extra[key] = value;
        }

        return new ServiceApp(service, factory);
    }

    public HttpClient CreateClient(string? token = null) =>
        (HttpClient)_factory.GetType().GetMethod("CreateClient", [typeof(string)])!.Invoke(_factory, [token])!;

    /// <summary>Every routed endpoint of the running host: its route template and HTTP methods.</summary>
    public IReadOnlyList<(string Template, IReadOnlyList<string> Methods)> Routes() =>
        [.. Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => ("/" + (e.RoutePattern.RawText ?? "").TrimStart('/'),
                (IReadOnlyList<string>)(e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.ToArray() ?? [])))
            .Distinct()];

    public ValueTask DisposeAsync() => ((IAsyncDisposable)_factory).DisposeAsync();
}
