using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace Presence.Testing;

/// <summary>The services under services/, by their <c>Program</c>'s assembly (a test project references those it hosts).</summary>
public enum PresenceService
{
    HeartbeatApi,
    StatusQuery,
    RealtimeGateway,
    Janitor,
}

/// <summary>
/// One real service (its own <c>Program</c>, a <see cref="PresenceAppFactory{TProgram}"/>) on a real Redis, sharing a key
/// prefix with the other services of a test: they meet only in Redis, as in production. In memory (handlers) by
/// default, or on a real Kestrel port for browsers. Made by <see cref="ServiceHosts"/> for a test project that has no
/// compile-time access to the service's <c>Program</c> (each is a top-level one in the global namespace).
/// </summary>
public interface IServiceHost : IAsyncDisposable
{
    IServiceProvider Services { get; }

    FakeTimeProvider Time { get; }

    /// <summary>An <see cref="HttpClient"/> through the in-memory server (or to the Kestrel port once started).</summary>
    HttpClient CreateHttpClient();

    /// <summary>The same, with the token as its bearer (none when null).</summary>
    HttpClient CreateClient(string? token);

    /// <summary>An <see cref="HttpClient"/> through the in-memory server with these handlers in front.</summary>
    HttpClient CreateHttpClient(params DelegatingHandler[] handlers);

    /// <summary>Starts the host on a free loopback port and answers its base URL.</summary>
    string StartKestrel();

    TestServer Server { get; }

    void SetConfiguration(string key, string value);
}

public static class ServiceHosts
{
    public static string Assembly(PresenceService service) => "Presence." + service;

    /// <param name="realClock">The system clock (browsers, real waits) instead of the shared fake one.</param>
    public static IServiceHost Create(PresenceService service, IRedisBackend redis, string keyPrefix, IReadOnlyDictionary<string, string?> settings,
        bool realClock = false, FakeTimeProvider? time = null) =>
        Create(Assembly(service), redis, keyPrefix, settings, realClock, time);

    /// <param name="assembly">The service's assembly, which holds its <c>Program</c>.</param>
    /// <param name="keyPrefix">The key prefix shared with the test's other services; a fresh one when null.</param>
    public static IServiceHost Create(string assembly, IRedisBackend redis, string? keyPrefix = null, IReadOnlyDictionary<string, string?>? settings = null,
        bool realClock = false, FakeTimeProvider? time = null)
    {
        var program = Type.GetType($"Program, {assembly}", throwOnError: false)
            ?? throw new InvalidOperationException($"No Program type in {assembly}: add a ProjectReference to the service in the test project.");
        return (IServiceHost)Activator.CreateInstance(typeof(ServiceHost<>).MakeGenericType(program), redis, keyPrefix, settings ?? new Dictionary<string, string?>(), realClock, time)!;
    }
}

internal sealed class ServiceHost<TProgram> : PresenceAppFactory<TProgram>, IServiceHost
    where TProgram : class
{
    private readonly bool _realClock;
    private readonly FakeTimeProvider? _sharedTime;

    public ServiceHost(IRedisBackend redis, string? keyPrefix, IReadOnlyDictionary<string, string?> settings, bool realClock, FakeTimeProvider? time)
        : base(redis)
    {
        _realClock = realClock;
        _sharedTime = time;
        Settings["Presence:KeyPrefix"] = keyPrefix ?? KeyPrefix;
        // Tests send more writes per user than a person would.
        Settings["RateLimiting:Writes:Burst"] = "1000";
        Settings["RateLimiting:Writes:PerMinute"] = "1000";
        Settings["Gateway:EventPollDelay"] = "00:00:00.020";
        foreach (var (key, value) in settings)
        {
            Settings[key] = value;
        }
    }

    FakeTimeProvider IServiceHost.Time => _sharedTime ?? Time;

    public HttpClient CreateHttpClient() => CreateClient();

    public HttpClient CreateHttpClient(params DelegatingHandler[] handlers) => CreateDefaultClient(handlers);

    public string StartKestrel()
    {
        UseKestrel(0);
        StartServer();
        return Services.ServerAddress();
    }

    public void SetConfiguration(string key, string value)
    {
        var configuration = (IConfigurationRoot)Services.GetRequiredService<IConfiguration>();
        configuration[key] = value;
        configuration.Reload();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services =>
        {
            if (_realClock)
            {
                services.AddSingleton(TimeProvider.System);
            }
            else if (_sharedTime is not null)
            {
                services.AddSingleton<TimeProvider>(_sharedTime);
            }
        });
    }
}
