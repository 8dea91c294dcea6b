using Presence.Testing.Browser;

namespace Presence.Client.Tests;

/// <summary>
/// The browser tests' stack: heartbeat-api, status-query and the realtime gateway on real Kestrel ports behind
/// <see cref="TestIngress"/> (one origin, as behind the production ingress), on one key prefix and the real clock, and a
/// headless Chromium.
/// </summary>
public sealed class BrowserStack : IAsyncDisposable
{
    private readonly RedisServer _redis;
    private readonly IReadOnlyDictionary<string, string?> _settings;

    private BrowserStack(RedisServer redis, IReadOnlyDictionary<string, string?> settings, string prefix)
    {
        _redis = redis;
        _settings = settings;
        Prefix = prefix;
        HeartbeatApi = Create(PresenceService.HeartbeatApi);
        StatusQuery = Create(PresenceService.StatusQuery);
        Gateway = Create(PresenceService.RealtimeGateway);
    }

    public IServiceHost HeartbeatApi { get; }

    public IServiceHost StatusQuery { get; }

    public IServiceHost Gateway { get; private set; }

    public string Prefix { get; }

    public PresenceKeys Keys => new(Prefix);

    public TestIngress Ingress { get; private set; } = null!;

    public HeadlessChromium Chromium { get; private set; } = null!;

    /// <summary>The settings of every service: short intervals, so a browser's beats and windows pass within a test on the real clock.</summary>
    public IReadOnlyDictionary<string, string?> Settings => _settings;

    /// <param name="leaveGrace">The leave grace of the test (the intervals are the same for every browser test).</param>
    public static async Task<BrowserStack> StartAsync(RedisServer redis, TimeSpan leaveGrace)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Presence:OnlineWindow"] = "00:00:30",
            ["Presence:HeartbeatInterval"] = "00:00:02",
            ["Presence:MinHeartbeatInterval"] = "00:00:01",
            ["Presence:LeaveGrace"] = leaveGrace.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        };
        var stack = new BrowserStack(redis, settings, RedisServer.NewKeyPrefix());
        stack.Ingress = await TestIngress.StartAsync(stack.HeartbeatApi.StartKestrel(), stack.StatusQuery.StartKestrel(), stack.Gateway.StartKestrel());
        stack.Chromium = await HeadlessChromium.LaunchAsync();
        return stack;
    }

    /// <summary>A new gateway in place of the current one (which the test stopped), behind the same ingress.</summary>
    public void StartNewGateway()
    {
        Gateway = Create(PresenceService.RealtimeGateway);
        Ingress.Gateway = Gateway.StartKestrel();
    }

    private IServiceHost Create(PresenceService service) => ServiceHosts.Create(service, _redis, Prefix, _settings, realClock: true);

    public async ValueTask DisposeAsync()
    {
        if (Chromium is not null)
        {
            await Chromium.DisposeAsync();
        }

        if (Ingress is not null)
        {
            await Ingress.DisposeAsync();
        }

        await Gateway.DisposeAsync();
        await StatusQuery.DisposeAsync();
        await HeartbeatApi.DisposeAsync();
    }
}

/// <summary>A browser test class: each test has a <see cref="BrowserStack"/> of its own, started before it and stopped after it.</summary>
public abstract class BrowserStackTests(RedisServer redis, TimeSpan leaveGrace) : IAsyncLifetime
{
    protected BrowserStack Stack { get; private set; } = null!;

    protected RedisServer Redis { get; } = redis;

    protected PresenceKeys Keys => Stack.Keys;

    public async ValueTask InitializeAsync() => Stack = await BrowserStack.StartAsync(Redis, leaveGrace);

    public async ValueTask DisposeAsync()
    {
        if (Stack is not null)
        {
            await Stack.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
