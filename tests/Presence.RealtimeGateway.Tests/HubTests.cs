using Microsoft.AspNetCore.SignalR;
using Presence.RealtimeGateway.Watching;

namespace Presence.RealtimeGateway.Tests;

public sealed class HubTests(RedisServer redis) : HostTests<GatewayFactory>(new(redis))
{
    [Fact]
    public async Task Heartbeat_is_acknowledged_with_server_time_and_the_advertised_interval_and_records_the_connection()
    {
        await using var hub = await App.ConnectAsync(DevTokens.Therapist("t-hb"));
        var acked = hub.NextAsync<HeartbeatAck>("heartbeat-ack");

        var result = await hub.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);

        Assert.Equal(App.Time.GetUtcNow(), result.ServerTime);
        Assert.Equal(30, result.NextHeartbeatSeconds);
        Assert.Null(result.ClockSkewSeconds);
        var message = await acked.WaitAsync(Poll.DefaultTimeout, Ct);
        Assert.Equal(result.ServerTime, message.ServerTime);
        var keys = App.PresenceKeys;
        Assert.NotNull(await redis.Database.SortedSetScoreAsync(keys.Online(PresenceRole.Therapist, "t-hb"), "t-hb"));
        Assert.Equal("hub", (string?)await redis.Database.HashGetAsync(keys.User(PresenceRole.Therapist, "t-hb"), "transport"));
        var sessions = await redis.Database.SortedSetRangeByRankAsync(keys.Sessions(PresenceRole.Therapist, "t-hb"));
        Assert.StartsWith("hub:", Assert.Single(sessions).ToString(), StringComparison.Ordinal);
        var held = await redis.Database.SetMembersAsync(keys.InstanceConnections(PresenceRole.Therapist, "t-hb", App.InstanceId));
        Assert.Equal("t-hb|" + sessions[0].ToString()["hub:".Length..], Assert.Single(held).ToString());
    }

    [Fact]
    public async Task Connections_get_no_backplane_subscription_of_their_own_neither_per_connection_nor_per_user()
    {
        await using var therapist = await App.ConnectAsync(DevTokens.Therapist("t-nosub"));
        await using var community = await App.ConnectAsync(DevTokens.Community("c-nosub"));
        await using var anonymous = await App.ConnectAsync(token: null);
        await therapist.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);
        await community.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);
        await anonymous.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-nosub" }, Ct);

        // docs/architecture.md, "Hub": the backplane's own channels and the watched groups' only; SignalR's names are
        // {hub}:all, {hub}:internal:..., {hub}:group:..., {hub}:user:... and {hub}:connection:{id}.
        var hubChannels = App.Prefix + ":signalr" + typeof(PresenceHub).FullName + ":";
        var server = redis.Client.GetServer(redis.Client.GetEndPoints()[0]);
        var channels = (await server.SubscriptionChannelsAsync(RedisChannel.Pattern(hubChannels + "*")))
            .Select(c => c.ToString()[hubChannels.Length..]).ToArray();
        Assert.Contains("all", channels);
        Assert.Contains("group:" + Watchers.UserGroup(PresenceRole.Therapist, "t-nosub"), channels);
        Assert.All(channels, c => Assert.True(c == "all" || c.StartsWith("internal:", StringComparison.Ordinal) || c.StartsWith("group:", StringComparison.Ordinal), c));
    }

    [Fact]
    public async Task A_heartbeat_without_payload_and_one_with_a_skewed_clock_are_accepted()
    {
        await using var hub = await App.ConnectAsync(DevTokens.Community("c-hb"));

        var bare = await hub.InvokeAsync<HeartbeatAck>("heartbeat", null, Ct);
        var skewed = await hub.InvokeAsync<HeartbeatAck>("heartbeat",
            new HeartbeatMessage { Timestamp = App.Time.GetUtcNow().AddMinutes(-10) }, Ct);

        Assert.Equal(30, bare.NextHeartbeatSeconds);
        Assert.Equal(-600, skewed.ClockSkewSeconds);
    }

    [Fact]
    public async Task Hub_heartbeats_are_rate_limited_per_connection_and_allowed_again_as_time_passes()
    {
        await using var hub = await App.ConnectAsync(DevTokens.Therapist("t-rl"));
        for (var i = 0; i < 5; i++)
        {
            await hub.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);
        }

        var refused = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct));
        Assert.Contains("Too many heartbeats", refused.Message, StringComparison.Ordinal);

        await using var otherTab = await App.ConnectAsync(DevTokens.Therapist("t-rl"));
        await otherTab.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);

        App.Time.Advance(TimeSpan.FromSeconds(2));
        await hub.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct);
        Assert.Equal(HubConnectionState.Connected, hub.State);
    }

    [Fact]
    public async Task JoinAsTherapist_records_allow_listed_specialties_and_availability()
    {
        await using var hub = await App.ConnectAsync(DevTokens.Therapist("t-join"));

        var ack = await hub.InvokeAsync<HeartbeatAck>("joinAsTherapist",
            new JoinTherapistRequest { TherapistId = "t-join", Specialties = ["anxiety", "trauma"], Available = true }, Ct);

        Assert.Equal(30, ack.NextHeartbeatSeconds);
        var keys = App.PresenceKeys;
        Assert.NotNull(await redis.Database.SortedSetScoreAsync(keys.Online(PresenceRole.Therapist, "t-join"), "t-join"));
        Assert.NotNull(await redis.Database.SortedSetScoreAsync(keys.Available(PresenceRole.Therapist, "t-join"), "t-join"));
        Assert.Equal("anxiety,trauma", (string?)await redis.Database.HashGetAsync(keys.Specialties(PresenceRole.Therapist, "t-join"), "t-join"));
        Assert.Equal(1, await redis.Database.SortedSetLengthAsync(keys.Sessions(PresenceRole.Therapist, "t-join")));
    }

    [Fact]
    public async Task Joins_that_do_not_match_the_token_or_the_allow_list_are_refused_and_change_nothing()
    {
        await using var therapist = await App.ConnectAsync(DevTokens.Therapist("t-real"));
        await using var community = await App.ConnectAsync(DevTokens.Community("c-real"));

        var otherId = await Assert.ThrowsAsync<HubException>(() => therapist.InvokeAsync<HeartbeatAck>("joinAsTherapist",
            new JoinTherapistRequest { TherapistId = "t-someone-else", Specialties = [] }, Ct));
        Assert.Contains("therapistId must equal", otherId.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HubException>(() => therapist.InvokeAsync<HeartbeatAck>("joinAsTherapist", null, Ct));
        var unknown = await Assert.ThrowsAsync<HubException>(() => therapist.InvokeAsync<HeartbeatAck>("joinAsTherapist",
            new JoinTherapistRequest { TherapistId = "t-real", Specialties = ["astrology"] }, Ct));
        Assert.Contains("Unknown specialty", unknown.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HubException>(() => therapist.InvokeAsync<HeartbeatAck>("joinAsTherapist",
            new JoinTherapistRequest { TherapistId = "t-real", Specialties = [.. PresenceOptions.DefaultSpecialties] }, Ct));
        await Assert.ThrowsAsync<HubException>(() => therapist.InvokeAsync<HeartbeatAck>("joinAsUser", Ct));
        await Assert.ThrowsAsync<HubException>(() => community.InvokeAsync<HeartbeatAck>("joinAsTherapist",
            new JoinTherapistRequest { TherapistId = "c-real" }, Ct));
        var availability = await Assert.ThrowsAsync<HubException>(() => community.InvokeAsync<HeartbeatAck>("heartbeat",
            new HeartbeatMessage { Available = true }, Ct));
        Assert.Contains("Only therapists", availability.Message, StringComparison.Ordinal);

        var keys = App.PresenceKeys;
        Assert.Equal(0, await redis.Database.SortedSetLengthSumAsync(keys.InAllShards(s => keys.Online(PresenceRole.Therapist, s))));
        Assert.Equal(0, await redis.Database.SortedSetLengthSumAsync(keys.InAllShards(s => keys.Online(PresenceRole.Community, s))));
        Assert.False(await redis.Database.KeyExistsAsync(keys.Sessions(PresenceRole.Therapist, "t-real")));

        await community.InvokeAsync<HeartbeatAck>("joinAsUser", Ct);
        Assert.NotNull(await redis.Database.SortedSetScoreAsync(keys.Online(PresenceRole.Community, "c-real"), "c-real"));
    }

    [Fact]
    public async Task Anonymous_connections_may_watch_therapists_and_nothing_else()
    {
        await using var anonymous = await App.ConnectAsync(token: null);

        var board = await anonymous.InvokeAsync<PresenceSnapshot>("watchTherapists", Ct);
        var some = await anonymous.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-1" }, Ct);

        Assert.Empty(board.Entries);
        Assert.Equal("offline", Assert.Single(some.Entries).Status);
        var heartbeat = await Assert.ThrowsAsync<HubException>(() => anonymous.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct));
        Assert.Contains("Sign in", heartbeat.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HubException>(() => anonymous.InvokeAsync<HeartbeatAck>("joinAsUser", Ct));
        await Assert.ThrowsAsync<HubException>(() => anonymous.InvokeAsync<PresenceSnapshot>("watchCommunity", new[] { "c-1" }, Ct));
        Assert.Equal(HubConnectionState.Connected, anonymous.State);
    }

    [Fact]
    public async Task An_expired_or_forged_token_is_refused_at_connect_instead_of_falling_back_to_anonymous()
    {
        await Assert.ThrowsAnyAsync<Exception>(() => App.ConnectAsync(DevTokens.Expired("therapist", "t-old")));
        await Assert.ThrowsAnyAsync<Exception>(() => App.ConnectAsync(DevTokens.Unsigned("therapist", "t-forged")));
        await using var fine = await App.ConnectAsync(DevTokens.Therapist("t-fine"));
        Assert.Equal(HubConnectionState.Connected, fine.State);
    }

    [Fact]
    public async Task A_connection_is_closed_when_its_token_expires_and_keeps_the_token_user_until_then()
    {
        await using var hub = await App.ConnectAsync(DevTokens.Mint("therapist", "t-lapse", lifetime: TimeSpan.FromSeconds(4)));

        // The connection's principal is the token's user (subject and role) while it is valid.
        var joined = await hub.InvokeAsync<HeartbeatAck>("joinAsTherapist", new JoinTherapistRequest { TherapistId = "t-lapse" }, Ct);
        Assert.True(joined.NextHeartbeatSeconds > 0);
        await Poll.UntilAsync(() => Task.FromResult(hub.State == HubConnectionState.Disconnected),
            "the hub connection closed after its token's expiry", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Open_hub_connections_are_served_as_aspnetcore_signalr_active_connections_not_a_gauge_of_our_own()
    {
        await using var gateway = new GatewayFactory(redis, settings: new Dictionary<string, string?> { ["Telemetry:Prometheus"] = "true" });
        await using var hub = await gateway.ConnectAsync(DevTokens.Community("c-gauge"));
        using var http = gateway.CreateClient();

        var exposition = await http.GetStringAsync("/metrics", Ct);

        var open = exposition.Split('\n').Where(l => l.StartsWith("signalr_server_active_connections{", StringComparison.Ordinal)).ToList();
        Assert.Contains(open, l => l.Contains("web_sockets", StringComparison.Ordinal) && !l.EndsWith(" 0", StringComparison.Ordinal));
        Assert.DoesNotContain("presence_hub_connections", exposition, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Community_statuses_are_visible_to_therapists_and_to_the_user_only()
    {
        await using var therapist = await App.ConnectAsync(DevTokens.Therapist("t-priv"));
        await using var community = await App.ConnectAsync(DevTokens.Community("c-self"));

        await therapist.InvokeAsync<PresenceSnapshot>("watchCommunity", new[] { "c-self", "c-other" }, Ct);
        await community.InvokeAsync<PresenceSnapshot>("watchCommunity", new[] { "c-self" }, Ct);
        var other = await Assert.ThrowsAsync<HubException>(() => community.InvokeAsync<PresenceSnapshot>("watchCommunity", new[] { "c-other" }, Ct));
        Assert.Contains("visible to therapists", other.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_answers_a_snapshot_of_the_current_statuses()
    {
        var store = App.Store;
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-on", HeartbeatTransport.Rest, Specialties: ["grief"]), Ct);
        await store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-rec", HeartbeatTransport.Rest), Ct);
        await store.SignOffAsync(PresenceRole.Therapist, "t-rec", ct: Ct);
        App.Time.Advance(App.LeaveGrace);
        await store.SettleAsync(DueIndex.Online, PresenceRole.Therapist, "t-rec", Ct);
        var until = DateTimeOffset.FromUnixTimeMilliseconds(App.Time.GetUtcNow().AddHours(1).ToUnixTimeMilliseconds());
        await store.SetAvailabilityAsync(PresenceRole.Therapist, "t-av", true, until, Ct);
        await using var hub = await App.ConnectAsync(token: null);

        var some = await hub.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-on", "t-rec", "t-av", "t-off" }, Ct);
        var board = await hub.InvokeAsync<PresenceSnapshot>("watchTherapists", Ct);

        Assert.Equal(App.Time.GetUtcNow(), some.GeneratedAt);
        Assert.Equal(["online", "recent", "available", "offline"], some.Entries.Select(e => e.Status).ToArray());
        Assert.Equal((App.Time.GetUtcNow() - App.LeaveGrace).ToUnixTimeMilliseconds(), some.Entries[1].LastActive?.ToUnixTimeMilliseconds());
        Assert.True(some.Entries[2].Available);
        Assert.Equal(until, some.Entries[2].AvailableUntil);
        Assert.Equal(["grief"], some.Entries[0].Specialties);
        Assert.True(some.Entries[1].Ver > 0);
        Assert.Null(some.Entries[3].LastActive);
        Assert.Equal(["t-on online", "t-rec recent", "t-av available"], board.Entries.Select(e => e.Id + " " + e.Status).ToArray());
    }

    [Fact]
    public async Task Watch_lists_are_validated_and_capped_at_200_ids_per_connection()
    {
        await using var hub = await App.ConnectAsync(token: null);
        string[] Ids(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => prefix + i)];

        await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<PresenceSnapshot>("watch", Ids("t-", 201), Ct));
        var bad = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-1", "not an id" }, Ct));
        Assert.Contains("must match", bad.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<PresenceSnapshot>("watch", Array.Empty<string>(), Ct));

        Assert.Equal(150, (await hub.InvokeAsync<PresenceSnapshot>("watch", Ids("a-", 150), Ct)).Entries.Count);
        var over = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<PresenceSnapshot>("watch", Ids("b-", 51), Ct));
        Assert.Contains("at most 200", over.Message, StringComparison.Ordinal);
        await hub.InvokeAsync("unwatch", Ids("a-", 10), Ct);
        Assert.Equal(60, (await hub.InvokeAsync<PresenceSnapshot>("watch", Ids("b-", 60), Ct)).Entries.Count);
    }

    [Fact]
    public async Task A_bad_id_in_a_watch_is_refused_before_anything_is_watched()
    {
        await using var gateway = new GatewayFactory(redis);
        await using var hub = await gateway.ConnectAsync(DevTokens.Therapist("t-watcher"));

        foreach (var method in new[] { "watch", "watchCommunity", "unwatch" })
        {
            var bad = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync(method, new[] { "t-1", "c-1", "a:b" }, Ct));
            Assert.Contains("must match", bad.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync(method, new[] { "t-1", null }, Ct));
        }

        // Nothing of the refused calls counts towards the cap: 200 other ids still fit.
        Assert.Equal(200, (await hub.InvokeAsync<PresenceSnapshot>("watch", Enumerable.Range(0, 200).Select(i => "x-" + i).ToArray(), Ct)).Entries.Count);
    }

    [Fact]
    public async Task Unknown_methods_and_wrong_payloads_are_answered_with_errors_and_the_connection_carries_on()
    {
        await using var hub = await App.ConnectAsync(DevTokens.Therapist("t-bad"));

        var unknown = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync("noSuchMethod", Ct));
        Assert.Contains("noSuchMethod", unknown.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<PresenceSnapshot>("watch", 42, Ct));
        await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<HeartbeatAck>("joinAsTherapist", "t-bad", Ct));
        await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), "extra", Ct));

        Assert.Equal(HubConnectionState.Connected, hub.State);
        Assert.Equal(30, (await hub.InvokeAsync<HeartbeatAck>("heartbeat", new HeartbeatMessage(), Ct)).NextHeartbeatSeconds);
    }

    [Fact]
    public async Task An_oversized_message_closes_that_connection_only()
    {
        await using var hub = await App.ConnectAsync(token: null);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };

        var huge = new string('x', 40 * 1024);
        await Assert.ThrowsAnyAsync<Exception>(() => hub.InvokeAsync<PresenceSnapshot>("watch", new[] { huge }, Ct));

        await closed.Task.WaitAsync(Poll.DefaultTimeout, Ct);
        await using var other = await App.ConnectAsync(token: null);
        Assert.Empty((await other.InvokeAsync<PresenceSnapshot>("watchTherapists", Ct)).Entries);
    }

    [Fact]
    public async Task The_board_page_origin_may_negotiate_cross_origin_with_credentials_and_others_may_not()
    {
        using var client = App.CreateClient();

        async Task<HttpResponseMessage> NegotiateAsync(string origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/hubs/presence/negotiate?negotiateVersion=1");
            request.Headers.Add("Origin", origin);
            return await client.SendAsync(request, Ct);
        }

        using var allowed = await NegotiateAsync("http://127.0.0.1:5103");
        using var other = await NegotiateAsync("http://evil.example");

        Assert.Equal(System.Net.HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal("http://127.0.0.1:5103", Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal("true", Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Credentials")));
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
