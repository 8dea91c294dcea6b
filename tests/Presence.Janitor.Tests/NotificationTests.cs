extern alias gateway;

using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using Presence.Core.Engagement;
using Presence.Janitor.Engagement;
using Presence.Janitor.Notifications;
using GatewayProgram = gateway::Program;

namespace Presence.Janitor.Tests;

public sealed class NotificationTests(RedisServer redis) : IAsyncLifetime
{
    private static readonly byte[] Key = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private readonly Receiver _receiver = new();
    private ServiceProvider _services = null!;
    private readonly FakeTimeProvider _time = new(JanitorHarness.Start);
    private readonly string _prefix = RedisServer.NewKeyPrefix();

    private PreferredTherapistNotifier Notifier => _services.GetRequiredService<PreferredTherapistNotifier>();

    private EngagementKeys Keys => new(new PresenceKeys(_prefix));

    /// <summary>A therapist's state event as the presence script writes it (at in unix ms, on the test's own timeline).</summary>
    private static PresenceEvent T(string id, string status, bool available, long at, long ver, string reason = PresenceReason.Heartbeat) =>
        new(PresenceRole.Therapist, id, ver, DateTimeOffset.FromUnixTimeMilliseconds(at), status, available, null, DateTimeOffset.FromUnixTimeMilliseconds(at), reason);

    public async ValueTask InitializeAsync()
    {
        await _receiver.StartAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Notifications:WebhookUrl"] = _receiver.Url + "hook",
            ["Notifications:WebhookSecret"] = "whsec_" + Convert.ToBase64String(Key),
            ["Notifications:MaxAttempts"] = "4",
            ["Notifications:RetryBaseDelay"] = "00:00:00.050",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis.ConnectionString));
        services.AddPresenceCore(configuration);
        services.Configure<PresenceOptions>(o => o.KeyPrefix = _prefix);
        services.AddJanitorServices(configuration);
        _services = services.BuildServiceProvider();
        await _services.GetRequiredService<Watchlists>().ReplaceAsync("c-1", ["t-1", "t-2"], Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task A_listed_therapist_coming_online_sends_one_signed_webhook_per_cooldown_window()
    {
        await Notifier.HandleAsync(T("t-1", "online", false, 1_000, 1), Ct);
        await Notifier.HandleAsync(T("t-1", "online", true, 2_000, 2, PresenceReason.Set), Ct);
        await Notifier.HandleAsync(T("t-1", "online", false, 1_000, 1), Ct);
        _time.Advance(TimeSpan.FromHours(6) - TimeSpan.FromSeconds(1));
        await Notifier.HandleAsync(T("t-1", "online", false, 3_000, 3), Ct);

        var first = Assert.Single(_receiver.Accepted);
        Assert.True(first.SignatureValid);
        Assert.StartsWith("msg_", first.Id, StringComparison.Ordinal);
        Assert.Equal(_time.GetUtcNow().AddHours(-6).AddSeconds(1).ToUnixTimeSeconds(), first.Timestamp);
        var body = JsonDocument.Parse(first.Body).RootElement;
        Assert.Equal("preferred-online", body.GetProperty("type").GetString());
        Assert.Equal("t-1", body.GetProperty("therapistId").GetString());
        Assert.Equal("c-1", body.GetProperty("userId").GetString());
        Assert.Equal("online", body.GetProperty("status").GetString());
        Assert.Equal(1_000, body.GetProperty("at").GetInt64());
        Assert.Equal(1, body.GetProperty("ver").GetInt64());
        Assert.Equal(6, body.EnumerateObject().Count());

        _time.Advance(TimeSpan.FromSeconds(1));
        await Notifier.HandleAsync(T("t-1", "online", true, 4_000, 4), Ct);
        Assert.Equal(2, _receiver.Accepted.Count);
        Assert.Equal("available", JsonDocument.Parse(_receiver.Accepted[1].Body).RootElement.GetProperty("status").GetString());
        Assert.All(_receiver.Accepted, d => Assert.True(d.SignatureValid));
    }

    [Fact]
    public async Task Going_offline_or_an_unlisted_therapist_sends_nothing()
    {
        await Notifier.HandleAsync(T("t-1", "recent", false, 1_000, 1), Ct);
        await Notifier.HandleAsync(T("t-9", "online", true, 1_000, 1), Ct);
        // The sentinel: a listed therapist coming online is delivered, and it is the only request.
        await Notifier.HandleAsync(T("t-2", "online", false, 1_000, 1), Ct);
        Assert.Equal("t-2", JsonDocument.Parse(Assert.Single(_receiver.Received).Body).RootElement.GetProperty("therapistId").GetString());
    }

    [Fact]
    public async Task A_receiver_outage_is_retried_with_the_same_id_and_delivered_when_it_is_back()
    {
        _receiver.FailNext(2);

        await Notifier.HandleAsync(T("t-1", "online", false, 1_000, 7), Ct);

        Assert.Equal(3, _receiver.Received.Count);
        Assert.Single(_receiver.Received.Select(r => r.Id).Distinct());
        Assert.True(Assert.Single(_receiver.Accepted).SignatureValid);
        Assert.Equal(0, await redis.Database.StreamLengthAsync(Keys.NotificationDeadLetters));
    }

    [Fact]
    public async Task After_the_last_attempt_the_note_is_dead_lettered_and_a_redelivery_of_the_event_is_sent_once_the_receiver_is_back()
    {
        _receiver.FailNext(4);

        await Notifier.HandleAsync(T("t-1", "online", false, 1_000, 8), Ct);

        Assert.Empty(_receiver.Accepted);
        var dead = Assert.Single(await redis.Database.StreamRangeAsync(Keys.NotificationDeadLetters));
        Assert.Equal(_receiver.Received[0].Id, (string?)dead["id"]);

        // The stream hands the event over again (its consumer acknowledges only after handling): it passes its own cooldown.
        await Notifier.HandleAsync(T("t-1", "online", false, 1_000, 8), Ct);
        var delivered = Assert.Single(_receiver.Accepted);
        Assert.Equal(_receiver.Received[0].Id, delivered.Id);
    }

    [Fact]
    public async Task A_user_with_a_live_hub_connection_is_told_through_its_gateway_instance_not_the_webhook()
    {
        await HubSessionAsync("c-1", "gw-live", "conn-1");
        var relayed = new TaskCompletionSource<HubNotification>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = _services.GetRequiredService<IConnectionMultiplexer>().GetSubscriber();
        await subscriber.SubscribeAsync(Keys.HubNotifications("gw-live"), (_, message) =>
            relayed.TrySetResult(JsonSerializer.Deserialize((string)message!, EngagementJson.Default.HubNotification)!));

        await Notifier.HandleAsync(T("t-1", "online", false, 1_000, 1), Ct);

        var note = await relayed.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(["conn-1"], note.ConnectionIds);
        Assert.Equal("t-1", note.Message.TherapistId);

        // A connection on a gateway that is gone (no subscriber): the note goes out as a webhook instead.
        await HubSessionAsync("c-1", "gw-gone", "conn-2", renewInstance: false);
        await subscriber.UnsubscribeAsync(Keys.HubNotifications("gw-live"));
        await Notifier.HandleAsync(T("t-2", "online", false, 1_000, 1), Ct);
        Assert.Equal("t-2", JsonDocument.Parse(Assert.Single(_receiver.Received).Body).RootElement.GetProperty("therapistId").GetString());
    }

    [Fact]
    public async Task The_consumer_groups_feed_the_notifier_and_the_analytics_from_every_stream_and_a_restart_loses_nothing()
    {
        var keys = new PresenceKeys(_prefix);
        var at = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var events = _services.GetRequiredService<PresenceEventStream>();
        await events.AppendAsync(new PresenceEvent(PresenceRole.Community, "c-1", 1, _time.GetUtcNow(), "online", false, null, _time.GetUtcNow(), PresenceReason.Heartbeat), Ct);
        // An entry without the versioned fields is acknowledged and skipped, not retried for ever.
        await redis.Database.StreamAddAsync(keys.Events(PresenceRole.Therapist, "t-1"), [new("role", "therapist"), new("id", "t-1"), new("status", "online"), new("at", at)]);
        await events.AppendAsync(T("t-1", "online", true, at, 1), Ct);

        // A first leader reads the therapist stream for the notifier, then dies before acknowledging anything.
        await redis.Database.StreamCreateConsumerGroupAsync(keys.Events(PresenceRole.Therapist, "t-1"), EngagementWorker.NotifierGroup, StreamPosition.Beginning);
        await redis.Database.StreamReadGroupAsync(keys.Events(PresenceRole.Therapist, "t-1"), EngagementWorker.NotifierGroup, StateEventConsumer.ConsumerName, ">");
        Assert.Equal(2, (await redis.Database.StreamPendingAsync(keys.Events(PresenceRole.Therapist, "t-1"), EngagementWorker.NotifierGroup)).PendingMessageCount);

        // The next leader (a fresh consumer over the same groups) starts from what was left pending.
        var worker = _services.GetRequiredService<EngagementWorker>();
        Assert.Equal([.. Roles.All.SelectMany(role => keys.EventStreams(role).Select(stream => (role, stream)))],
            _services.GetRequiredService<StateEventConsumer>().Streams);
        await worker.PumpOnceAsync(Ct);

        var delivered = Assert.Single(_receiver.Accepted);
        Assert.Equal("t-1", JsonDocument.Parse(delivered.Body).RootElement.GetProperty("therapistId").GetString());
        foreach (var role in new[] { PresenceRole.Therapist, PresenceRole.Community })
        {
            Assert.Equal(0, await redis.Database.PendingSumAsync(keys, role, EngagementWorker.NotifierGroup));
            Assert.Equal(0, await redis.Database.PendingSumAsync(keys, role, EngagementWorker.AnalyticsGroup));
        }

        var day = DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime);
        var analytics = _services.GetRequiredService<Analytics>();
        Assert.Equal(1, Assert.Single(await analytics.ActiveUsersAsync(PresenceRole.Community, day, day, Ct)).Users);
        Assert.Equal(1, Assert.Single(await analytics.ActiveUsersAsync(PresenceRole.Therapist, day, day, Ct)).Users);
        // Nothing new: a second pass handles nothing and sends nothing.
        Assert.Equal(0, await worker.PumpOnceAsync(Ct));
        Assert.Single(_receiver.Received);
    }

    [Fact]
    public async Task A_real_heartbeat_of_a_watched_therapist_sends_one_webhook_and_one_hub_note_and_nothing_more_in_the_cooldown()
    {
        // c-1 has no hub connection (webhook); c-2 is connected to a live gateway instance (hub note through it).
        await _services.GetRequiredService<Watchlists>().ReplaceAsync("c-2", ["t-1"], Ct);
        await HubSessionAsync("c-2", "gw-1", "conn-9");
        var hubNotes = new ConcurrentQueue<HubNotification>();
        var subscriber = _services.GetRequiredService<IConnectionMultiplexer>().GetSubscriber();
        await subscriber.SubscribeAsync(Keys.HubNotifications("gw-1"), (_, message) =>
            hubNotes.Enqueue(JsonSerializer.Deserialize((string)message!, EngagementJson.Default.HubNotification)!));
        var worker = _services.GetRequiredService<EngagementWorker>();
        // The groups exist before the therapist's first event (the notifier's starts at new entries).
        await worker.PumpOnceAsync(Ct);

        var store = _services.GetRequiredService<PresenceStore>();
        var beat = await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest), Ct);
        Assert.True(beat.CameOnline);
        await worker.PumpOnceAsync(Ct);
        // More of the same: beats without a transition, then availability on (a flip, but inside the cooldown).
        _time.Advance(TimeSpan.FromSeconds(30));
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest), Ct);
        await store.SetAvailabilityAsync(PresenceRole.Therapist, "t-1", available: true, Ct);
        await worker.PumpOnceAsync(Ct);
        await worker.PumpOnceAsync(Ct);

        var delivered = Assert.Single(_receiver.Received);
        Assert.True(delivered.SignatureValid);
        var body = JsonDocument.Parse(delivered.Body).RootElement;
        Assert.Equal(("t-1", "c-1", "online", beat.Ver), (body.GetProperty("therapistId").GetString(), body.GetProperty("userId").GetString(),
            body.GetProperty("status").GetString(), body.GetProperty("ver").GetInt64()));
        await Poll.UntilAsync(() => Task.FromResult(!hubNotes.IsEmpty), "the hub note reached gw-1's channel", timeout: TimeSpan.FromSeconds(10));
        Assert.True(hubNotes.TryPeek(out var note));
        Assert.Equal(["conn-9"], note.ConnectionIds);
        Assert.Equal(("t-1", "c-2", beat.Ver), (note.Message.TherapistId, note.Message.UserId, note.Message.Ver));
        // The sentinel: a second listed therapist's note arrives after everything above, and it is the only other one.
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-2", HeartbeatTransport.Rest), Ct);
        await worker.PumpOnceAsync(Ct);
        Assert.Equal(["t-1", "t-2"], _receiver.Received.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("therapistId").GetString()));
        Assert.Single(hubNotes);
    }

    [Fact]
    public async Task A_real_heartbeat_reaches_a_connected_community_user_through_a_real_gateway_as_preferred_online()
    {
        await using var gatewayApp = new PresenceAppFactory<GatewayProgram>(redis);
        gatewayApp.Settings["Presence:KeyPrefix"] = _prefix;
        var server = gatewayApp.Server;
        // One timeline: the janitor's clock moves up to the gateway's, so the gateway's sessions and lease are live to it.
        _time.SetUtcNow(gatewayApp.Time.GetUtcNow());
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "/hubs/presence?access_token=" + Uri.EscapeDataString(DevTokens.Community("c-1"))), HttpTransportType.WebSockets, o =>
            {
                o.SkipNegotiation = true;
                o.WebSocketFactory = async (context, ct) => await server.CreateWebSocketClient().ConnectAsync(context.Uri, ct);
            })
            .Build();
        var notes = new ConcurrentQueue<JsonElement>();
        hub.On<JsonElement>("preferred-online", notes.Enqueue);
        await hub.StartAsync(Ct);
        await hub.InvokeAsync<JsonElement>("joinAsUser", Ct);
        var worker = _services.GetRequiredService<EngagementWorker>();
        await worker.PumpOnceAsync(Ct);

        await _services.GetRequiredService<PresenceStore>().HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest), Ct);
        await worker.PumpOnceAsync(Ct);
        await Poll.UntilAsync(() => Task.FromResult(!notes.IsEmpty), "preferred-online reached the hub client", timeout: TimeSpan.FromSeconds(10));
        // The sentinel: a note for t-2 comes after anything else that could have been sent for t-1.
        await _services.GetRequiredService<PresenceStore>().HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-2", HeartbeatTransport.Rest), Ct);
        await worker.PumpOnceAsync(Ct);
        await Poll.UntilAsync(() => Task.FromResult(notes.Count >= 2), "the sentinel note reached the hub client", timeout: TimeSpan.FromSeconds(10));

        Assert.Equal(["t-1", "t-2"], notes.Select(n => n.GetProperty("therapistId").GetString()));
        var first = notes.First();
        Assert.Equal(("preferred-online", "c-1", "online"), (first.GetProperty("type").GetString(), first.GetProperty("userId").GetString(), first.GetProperty("status").GetString()));
        Assert.Empty(_receiver.Received);
    }

    [Fact]
    public async Task A_stale_event_or_one_superseded_by_a_newer_version_sends_nothing()
    {
        var store = _services.GetRequiredService<PresenceStore>();
        // t-1 came online and left again before the notifier read the stream: its online event is superseded.
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest), Ct);
        var events = await redis.Database.StreamRangeAsync(new PresenceKeys(_prefix).Events(PresenceRole.Therapist, "t-1"));
        Assert.True(PresenceEvent.TryParse(Assert.Single(events), PresenceRole.Therapist, out var online));
        await store.SignOffAsync(PresenceRole.Therapist, "t-1", device: null, Ct);
        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.True(await store.SettleAsync(DueIndex.Online, PresenceRole.Therapist, "t-1", Ct));

        await Notifier.HandleAsync(online, Ct);
        // Older than one already seen: nothing either.
        await Notifier.HandleAsync(T("t-2", "online", false, 2_000, 5), Ct);
        await Notifier.HandleAsync(T("t-2", "online", false, 1_000, 4), Ct);

        Assert.Equal([5L], _receiver.Received.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("ver").GetInt64()));
    }

    [Fact]
    public async Task Analytics_from_real_events_and_a_replay_of_the_streams_into_fresh_keys_give_the_same_figures()
    {
        var store = _services.GetRequiredService<PresenceStore>();
        var worker = _services.GetRequiredService<EngagementWorker>();
        var start = _time.GetUtcNow();
        await worker.PumpOnceAsync(Ct);
        // c-1 comes online and waits; t-1 comes online available 4 min later; c-1 signs off a minute after that.
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Community, "c-1", HeartbeatTransport.Rest), Ct);
        await worker.PumpOnceAsync(Ct);
        _time.Advance(TimeSpan.FromMinutes(4));
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest, Available: true), Ct);
        await worker.PumpOnceAsync(Ct);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(SessionEndOutcome.Leaving, await store.SignOffAsync(PresenceRole.Community, "c-1", device: null, Ct));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(await store.SettleAsync(DueIndex.Online, PresenceRole.Community, "c-1", Ct));
        await worker.PumpOnceAsync(Ct);

        var live = await FiguresAsync(_services.GetRequiredService<Analytics>(), start);
        Assert.Equal("1/1|1|1:240|1|1", live);

        // A replay: every entry of every stream, in event time, folded into keys of their own.
        var fresh = new Analytics(_services.GetRequiredService<IConnectionMultiplexer>(), new EngagementKeys(new PresenceKeys(RedisServer.NewKeyPrefix())),
            _services.GetRequiredService<RedisResilience>(), _services.GetRequiredService<EngagementMetrics>());
        var keys = _services.GetRequiredService<PresenceKeys>();
        var entries = new List<PresenceEvent>();
        foreach (var role in Roles.All)
        {
            foreach (var stream in keys.EventStreams(role))
            {
                foreach (var entry in await redis.Database.StreamRangeAsync(stream))
                {
                    Assert.True(PresenceEvent.TryParse(entry, role, out var e));
                    entries.Add(e);
                }
            }
        }

        foreach (var e in entries.OrderBy(e => e.At))
        {
            Assert.True(await fresh.FoldAsync(e, Ct));
        }

        Assert.Equal(live, await FiguresAsync(fresh, start));
        // And folding the same events again changes nothing.
        foreach (var e in entries)
        {
            Assert.False(await fresh.FoldAsync(e, Ct));
        }

        Assert.Equal(live, await FiguresAsync(fresh, start));
    }

    [Fact]
    public async Task One_pump_over_both_roles_streams_folds_their_events_in_time_order()
    {
        var store = _services.GetRequiredService<PresenceStore>();
        var start = _time.GetUtcNow();
        // The same story as above, but read in one pump: the therapist's stream holds its later event when the community
        // user's earlier one is read, and the wait must still be 4 minutes, not 0.
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Community, "c-1", HeartbeatTransport.Rest), Ct);
        _time.Advance(TimeSpan.FromMinutes(4));
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-1", HeartbeatTransport.Rest, Available: true), Ct);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(SessionEndOutcome.Leaving, await store.SignOffAsync(PresenceRole.Community, "c-1", device: null, Ct));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(await store.SettleAsync(DueIndex.Online, PresenceRole.Community, "c-1", Ct));

        await _services.GetRequiredService<EngagementWorker>().PumpOnceAsync(Ct);

        Assert.Equal("1/1|1|1:240|1|1", await FiguresAsync(_services.GetRequiredService<Analytics>(), start));
    }

    /// <summary>Coverage of the hour, community sessions, time-to-available (count:mean s), daily active per role.</summary>
    private static async Task<string> FiguresAsync(Analytics analytics, DateTimeOffset start)
    {
        var day = DateOnly.FromDateTime(start.UtcDateTime);
        var coverage = Assert.Single(await analytics.CoverageAsync(start, start.AddMinutes(30), Ct));
        var sessions = Assert.Single(await analytics.SessionsAsync(PresenceRole.Community, day, day, Ct));
        var community = Assert.Single(await analytics.ActiveUsersAsync(PresenceRole.Community, day, day, Ct));
        var therapists = Assert.Single(await analytics.ActiveUsersAsync(PresenceRole.Therapist, day, day, Ct));
        return $"{coverage.Online}/{coverage.FlaggedAvailable}|{sessions.Sessions.Count}|{sessions.TimeToAvailable.Count}:{sessions.TimeToAvailable.MeanSeconds}"
            + $"|{community.Users}|{therapists.Users}";
    }

    private async Task HubSessionAsync(string userId, string instanceId, string connectionId, bool renewInstance = true)
    {
        if (renewInstance)
        {
            await _services.GetRequiredService<ConnectionStore>().RenewInstanceAsync(instanceId, Ct);
        }

        await _services.GetRequiredService<PresenceStore>().HeartbeatAsync(
            new Heartbeat(PresenceRole.Community, userId, HeartbeatTransport.Hub, Session: SessionRef.Hub(instanceId, connectionId)), Ct);
    }

    [Fact]
    public async Task The_coverage_sample_counts_a_therapist_in_every_hour_it_stays_online_not_only_the_first()
    {
        var store = _services.GetRequiredService<PresenceStore>();
        var sampler = _services.GetRequiredService<CoverageSampler>();
        var start = _time.GetUtcNow();
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-long", HeartbeatTransport.Hub, Available: true), Ct);
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-short", HeartbeatTransport.Hub), Ct);
        await sampler.SampleAsync(Ct);
        _time.Advance(TimeSpan.FromHours(1));
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-long", HeartbeatTransport.Hub), Ct);
        await sampler.SampleAsync(Ct);

        var coverage = await _services.GetRequiredService<Analytics>().CoverageAsync(start, start.AddHours(2), Ct);

        Assert.Equal([(2L, 1L), (1L, 1L)], coverage.Select(c => (c.Online, c.FlaggedAvailable)));
    }

    /// <summary>A real HTTP receiver (Kestrel on a free port) that verifies the Standard Webhooks signature.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly ConcurrentQueue<Delivery> _received = new();
        private WebApplication? _app;
        private int _failures;

        public string Url { get; private set; } = string.Empty;

        public IReadOnlyList<Delivery> Received => [.. _received];

        public IReadOnlyList<Delivery> Accepted => [.. _received.Where(d => d.Status == 200)];

        public void FailNext(int count) => _failures = count;

        public async Task StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            _app = builder.Build();
            _app.MapPost("/hook", async (HttpContext ctx) =>
            {
                var body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
                var id = ctx.Request.Headers["webhook-id"].ToString();
                var timestamp = long.Parse(ctx.Request.Headers["webhook-timestamp"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
                var valid = WebhookSignature.Verify(Key, id, timestamp, body, ctx.Request.Headers["webhook-signature"].ToString());
                var status = Interlocked.Decrement(ref _failures) >= 0 ? 503 : valid ? 200 : 401;
                _received.Enqueue(new Delivery(id, timestamp, body, valid, status));
                return Results.StatusCode(status);
            });
            await _app.StartAsync();
            Url = _app.Urls.First().TrimEnd('/') + "/";
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.DisposeAsync();
            }
        }
    }

    private sealed record Delivery(string Id, long Timestamp, string Body, bool SignatureValid, int Status);
}
