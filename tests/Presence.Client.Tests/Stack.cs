using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Time.Testing;

namespace Presence.Client.Tests;

/// <summary>heartbeat-api, status-query and (on demand) the realtime gateway on one Redis and one key prefix, in memory, on one fake clock.</summary>
public sealed class Stack : IAsyncDisposable
{
    private readonly RedisServer _redis;
    private readonly Dictionary<string, string?> _settings;
    private IServiceHost? _gateway;

    public Stack(RedisServer redis, IReadOnlyDictionary<string, string?>? settings = null)
    {
        _redis = redis;
        _settings = new(settings ?? new Dictionary<string, string?>());
        HeartbeatApi = ServiceHosts.Create(PresenceService.HeartbeatApi, redis, Prefix, _settings, time: Time);
        StatusQuery = ServiceHosts.Create(PresenceService.StatusQuery, redis, Prefix, _settings, time: Time);
    }

    public string Prefix { get; } = RedisServer.NewKeyPrefix();

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public IServiceHost HeartbeatApi { get; }

    public IServiceHost StatusQuery { get; }

    public IServiceHost Gateway => _gateway ??= ServiceHosts.Create(PresenceService.RealtimeGateway, _redis, Prefix, _settings, time: Time);

    public PresenceKeys Keys => new(Prefix);

    public IDatabase Db => _redis.Database;

    public PresenceStore Store => HeartbeatApi.Services.GetRequiredService<PresenceStore>();

    /// <summary>A REST client through the in-memory services, with the Retry-After retry of <see cref="PresenceResilience"/>.</summary>
    public PresenceClient Client(string? token, int unavailableRetries = 2)
    {
        var options = new PresenceClientOptions
        {
            AccessTokenProvider = _ => ValueTask.FromResult(token),
            UnavailableRetries = unavailableRetries,
        };
        return new(HeartbeatApi.CreateHttpClient(PresenceResilience.CreateHandler(options)),
            StatusQuery.CreateHttpClient(PresenceResilience.CreateHandler(options)), options);
    }

    /// <summary>A hub client through the in-memory gateway; it follows <see cref="RestartGatewayAsync"/> to the new instance.</summary>
    public PresenceHubClient Hub(string? token, IRetryPolicy? retry = null) =>
        new(new Uri("http://localhost/hubs/presence"), new PresenceHubClientOptions
        {
            AccessTokenProvider = _ => ValueTask.FromResult(token),
            RetryPolicy = retry ?? new JitteredRetryPolicy { FirstRetryWindow = TimeSpan.FromMilliseconds(200), BaseDelay = TimeSpan.FromMilliseconds(200), MaxDelay = TimeSpan.FromSeconds(1) },
            ConfigureHttpConnection = o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                o.HttpMessageHandlerFactory = _ => Gateway.Server.CreateHandler();
                // The test server's WebSocket client sends no headers: the token goes in the query, as browsers send it.
                o.WebSocketFactory = async (context, ct) =>
                {
                    var uri = token is null ? context.Uri
                        : new Uri(context.Uri + (context.Uri.Query.Length > 0 ? "&" : "?") + "access_token=" + Uri.EscapeDataString(token));
                    return await Gateway.Server.CreateWebSocketClient().ConnectAsync(uri, ct);
                };
            },
        });

    /// <summary>Stops the gateway (its connections drop) and starts a new instance: a pod restart.</summary>
    public async Task RestartGatewayAsync()
    {
        var old = _gateway;
        _gateway = null;
        if (old is not null)
        {
            await old.DisposeAsync();
        }

        _ = Gateway.Server;
    }

    public async ValueTask DisposeAsync()
    {
        await HeartbeatApi.DisposeAsync();
        await StatusQuery.DisposeAsync();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }
}
