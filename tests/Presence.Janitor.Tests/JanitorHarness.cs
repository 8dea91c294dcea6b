using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Presence.Janitor.Expiry;
using Presence.Janitor.Leadership;
using Presence.Janitor.Sweeping;

namespace Presence.Janitor.Tests;

/// <summary>
/// One janitor replica wired as the host wires it (minus the hosted loops, which tests drive directly): the shared
/// wiring of <see cref="CoreServices"/> plus the janitor's own, with its own Redis connection, against a real Redis. Replicas that share a key prefix (and a clock) compete as real
/// replicas do. Public, so a test class can have it as its host (<see cref="HostTests{THost}"/>); what shows the janitor's
/// own types stays internal.
/// </summary>
public sealed class JanitorHarness : IStoreHost, IAsyncDisposable
{
    public static readonly DateTimeOffset Start = CoreServices.DefaultStart;

    private readonly CoreServices _core;

    internal JanitorHarness(
        RedisServer redis,
        string? prefix = null,
        Action<JanitorOptions>? janitor = null,
        Action<PresenceOptions>? presence = null,
        TimeProvider? time = null)
    {
        Redis = redis;
        _core = new CoreServices(redis, presence, prefix, time: time ?? new FakeTimeProvider(Start), register: (services, configuration) =>
        {
            services.AddSingleton<IConnectionMultiplexer>(_ =>
            {
                // As the service defaults connect: calls fail at once while Redis is down instead of queueing.
                var options = ConfigurationOptions.Parse(redis.ConnectionString);
                options.BacklogPolicy = BacklogPolicy.FailFast;
                return ConnectionMultiplexer.Connect(options);
            });
            // A short break, so tests that stop Redis see the circuit close again soon after it is back.
            services.Configure<RedisResilienceOptions>(o => o.BreakDuration = TimeSpan.FromMilliseconds(500));
            services.AddJanitorServices(configuration);
            services.Configure<JanitorOptions>(o => janitor?.Invoke(o));
        });
        JanitorOptions = _core.Get<IOptions<JanitorOptions>>().Value;
    }

    public RedisServer Redis { get; }

    public TimeProvider Time => _core.Clock;

    /// <summary>The clock, when it is the fake one (the default).</summary>
    public FakeTimeProvider Fake => _core.Time;

    public string Prefix => _core.Prefix;

    public PresenceOptions Options => _core.Options;

    internal JanitorOptions JanitorOptions { get; }

    public PresenceKeys Keys => _core.Get<PresenceKeys>();

    public PresenceStore Store => _core.Get<PresenceStore>();

    public ConnectionStore Connections => _core.Get<ConnectionStore>();

    internal Sweeper Sweeper => _core.Get<Sweeper>();

    internal LeaderLease Lease => _core.Get<LeaderLease>();

    internal UserExpiry Expiry => _core.Get<UserExpiry>();

    internal KeyspaceEventsSetting KeyspaceEvents => _core.Get<KeyspaceEventsSetting>();

    public System.Diagnostics.Metrics.Meter Meter => _core.Get<PresenceMetrics>().Meter;

    public IDatabase Db => Redis.Database;

    public long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Sweeps until a tick reports it caught up (bounded, so a bug cannot loop forever).</summary>
    internal async Task<List<SweepReport>> SweepUntilCaughtUpAsync(int maxTicks = 100)
    {
        var reports = new List<SweepReport>();
        for (var i = 0; i < maxTicks; i++)
        {
            var report = await Sweeper.SweepOnceAsync(TestContext.Current.CancellationToken);
            reports.Add(report);
            if (report.CaughtUp)
            {
                return reports;
            }
        }

        throw new InvalidOperationException($"The sweep did not catch up within {maxTicks} ticks.");
    }

    public async Task<StreamEntry[]> EventsAsync(PresenceRole role) => await Db.AllEventsAsync(Keys, role);

    /// <summary>The <c>status</c> of each event of one user, in order.</summary>
    public async Task<string[]> StatusesAsync(PresenceRole role, string id) =>
        [.. (await EventsAsync(role)).Where(e => e["id"] == id).Select(e => e["status"].ToString())];

    /// <summary>The <c>status/reason</c> of each event of one user, in order.</summary>
    public async Task<string[]> TransitionsAsync(PresenceRole role, string id) =>
        [.. (await EventsAsync(role)).Where(e => e["id"] == id).Select(e => e["status"] + "/" + e["reason"])];

    public ValueTask DisposeAsync() => _core.DisposeAsync();
}
