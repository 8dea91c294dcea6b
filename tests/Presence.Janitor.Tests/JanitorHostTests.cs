namespace Presence.Janitor.Tests;

/// <summary>
/// The running janitor host (leader election, sweep loop, expiry listener) against a server with keyspace
/// notifications on and one with them off: the online → recent transition is the sweep's either way.
/// </summary>
public abstract class JanitorHostTests
{
    private protected abstract IRedisBackend Server { get; }

    private protected abstract bool KeyspaceEvents { get; }

    [Fact]
    public async Task The_running_janitor_moves_a_lapsed_user_to_recent_with_exactly_one_recent_event()
    {
        await using var app = new JanitorAppFactory(Server);
        using var client = await app.StartLeadingAsync();
        var store = app.Get<PresenceStore>();
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest), Ct);
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Community, "c-1", HeartbeatTransport.Hub), Ct);
        var window = app.Get<Microsoft.Extensions.Options.IOptions<PresenceOptions>>().Value.OnlineWindow;

        app.Time.Advance(window - TimeSpan.FromSeconds(1));
        await app.AdvanceUntilAsync(async () => (await app.StatusesAsync(PresenceRole.Therapist, "t-1")).Contains("recent")
            && (await app.StatusesAsync(PresenceRole.Community, "c-1")).Contains("recent"));
        // The sweep's transition rewrote the board entries too (docs/architecture.md, "Board entries").
        Assert.Equal("r", ((string?)await app.Db.HashGetAsync(app.Keys.Board(PresenceRole.Therapist, "t-1"), "t-1"))?.Split('|')[2]);
        Assert.Equal("r", ((string?)await app.Db.HashGetAsync(app.Keys.Board(PresenceRole.Community, "c-1"), "c-1"))?.Split('|')[2]);
        // More ticks, and a user hash expiring meanwhile (a notification where they are on), add nothing.
        await app.Db.KeyExpireAsync(app.Keys.User(PresenceRole.Therapist, "t-1"), TimeSpan.FromMilliseconds(1));
        for (var i = 0; i < 5; i++)
        {
            app.Time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20, Ct);
        }

        Assert.Equal(["online", "recent"], await app.StatusesAsync(PresenceRole.Therapist, "t-1"));
        Assert.Equal(["online", "recent"], await app.StatusesAsync(PresenceRole.Community, "c-1"));
        Assert.Equal(0, await app.Db.SortedSetLengthSumAsync(app.Keys.InAllShards(s => app.Keys.Online(PresenceRole.Therapist, s))));

        using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task An_expired_user_hash_is_forgotten_at_once_when_notifications_are_on()
    {
        await using var app = new JanitorAppFactory(Server);
        using var client = await app.StartLeadingAsync();
        await Poll.UntilAsync(() => app.Logs.Any(l => l.Message.StartsWith("Listening to expired-key events", StringComparison.Ordinal)));
        var store = app.Get<PresenceStore>();
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest, Available: true), Ct);
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-2", HeartbeatTransport.Rest), Ct);

        // As if the retention passed: Redis expires the hash on its own clock and publishes 'expired'.
        await app.Db.KeyExpireAsync(app.Keys.User(PresenceRole.Therapist, "t-1"), TimeSpan.FromMilliseconds(1));
        await Poll.UntilAsync(async () => !await app.Db.KeyExistsAsync(app.Keys.User(PresenceRole.Therapist, "t-1")));

        if (KeyspaceEvents)
        {
            await Poll.UntilAsync(async () => await app.Db.SortedSetScoreAsync(app.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1") is null);
            Assert.False(await app.Db.HashExistsAsync(app.Keys.Versions(PresenceRole.Therapist, "t-1"), "t-1"));
        }
        else
        {
            // Nothing is published; the retention trim removes the entry by score once the retention passes.
            Assert.Contains(app.Logs, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Warning
                && l.Message.Contains("CONFIG SET notify-keyspace-events Ex", StringComparison.Ordinal));
            Assert.NotNull(await app.Db.SortedSetScoreAsync(app.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1"));
        }

        Assert.NotNull(await app.Db.SortedSetScoreAsync(app.Keys.Available(PresenceRole.Therapist, "t-1"), "t-1"));
        Assert.NotNull(await app.Db.SortedSetScoreAsync(app.Keys.LastSeen(PresenceRole.Therapist, "t-2"), "t-2"));
    }
}

public sealed class JanitorHostWithKeyspaceEventsTests(RedisServer redis) : JanitorHostTests
{
    private protected override IRedisBackend Server => redis;

    private protected override bool KeyspaceEvents => true;
}

public sealed class JanitorHostWithoutKeyspaceEventsTests(PrivateRedis redis) : JanitorHostTests, IClassFixture<PrivateRedis>, IAsyncLifetime
{
    private protected override IRedisBackend Server => redis.Server;

    private protected override bool KeyspaceEvents => false;

    public async ValueTask InitializeAsync() => await redis.Server.Database.ExecuteAsync("CONFIG", "SET", "notify-keyspace-events", "");

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task The_janitor_turns_expired_events_on_only_when_configured_to()
    {
        await using (var app = new JanitorAppFactory(Server))
        {
            app.Settings["Janitor:ConfigureKeyspaceEvents"] = "true";
            using var client = app.CreateClient();
            await Poll.UntilAsync(async () => (await Server.Database.ExecuteAsync("CONFIG", "GET", "notify-keyspace-events")).ToDictionary()
                .Values.Single().ToString() is var flags && flags.Contains('E', StringComparison.Ordinal) && flags.Contains('x', StringComparison.Ordinal));
        }

        await Server.Database.ExecuteAsync("CONFIG", "SET", "notify-keyspace-events", "");
        await using (var app = new JanitorAppFactory(Server))
        {
            using var client = app.CreateClient();
            await Poll.UntilAsync(() => app.Logs.Any(l => l.Message.Contains("does not publish expired-key events", StringComparison.Ordinal)));
            Assert.Equal(string.Empty, (await Server.Database.ExecuteAsync("CONFIG", "GET", "notify-keyspace-events")).ToDictionary().Values.Single().ToString());
        }
    }
}

/// <summary>The same cases on a 3-primary cluster, where each role's keys live on another primary than the other's.</summary>
public sealed class JanitorHostOnClusterTests(RedisCluster cluster) : JanitorHostTests, IClassFixture<RedisCluster>
{
    private protected override IRedisBackend Server => cluster;

    private protected override bool KeyspaceEvents => true;
}
