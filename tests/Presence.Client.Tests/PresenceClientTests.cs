namespace Presence.Client.Tests;

/// <summary>Every REST endpoint (README.md, "HTTP API") through <see cref="PresenceClient"/>, against the real heartbeat-api and status-query.</summary>
public sealed class PresenceClientTests(RedisServer redis) : HostTests<Stack>(new(redis))
{
    [Fact]
    public async Task Therapist_heartbeat_is_recorded_and_answers_the_advertised_interval()
    {
        var ack = await App.Client(DevTokens.Therapist("t-hb")).HeartbeatAsync(PresenceRole.Therapist, new HeartbeatRequest { Timestamp = App.Time.GetUtcNow() }, Ct);

        Assert.True(ack.Accepted);
        Assert.Equal(30, ack.NextHeartbeatSeconds);
        Assert.Null(ack.ClockSkewSeconds);
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(Core.PresenceRole.Therapist, "t-hb"), "t-hb"));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Online(Core.PresenceRole.Therapist, "t-hb"), "t-hb"));
    }

    [Fact]
    public async Task Community_heartbeat_reports_clock_skew_and_is_recorded()
    {
        var ack = await App.Client(DevTokens.Community("c-hb"))
            .HeartbeatAsync(PresenceRole.Community, new HeartbeatRequest { Timestamp = App.Time.GetUtcNow().AddMinutes(10) }, Ct);

        Assert.Equal(600, ack.ClockSkewSeconds);
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Online(Core.PresenceRole.Community, "c-hb"), "c-hb"));
    }

    [Fact]
    public async Task Heartbeat_within_the_min_interval_throws_rate_limited_with_retry_after_and_is_accepted_after_it()
    {
        var client = App.Client(DevTokens.Therapist("t-soon"));
        await client.HeartbeatAsync(PresenceRole.Therapist, cancellationToken: Ct);
        App.Time.Advance(TimeSpan.FromSeconds(4));

        var limited = await Assert.ThrowsAsync<PresenceRateLimitedException>(() => client.HeartbeatAsync(PresenceRole.Therapist, cancellationToken: Ct));

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Status);
        Assert.Equal(TimeSpan.FromSeconds(6), limited.RetryAfter);
        App.Time.Advance(limited.RetryAfter!.Value);
        Assert.True((await client.HeartbeatAsync(PresenceRole.Therapist, cancellationToken: Ct)).Accepted);
    }

    [Fact]
    public async Task Availability_is_set_idempotently_and_shows_on_the_board()
    {
        var client = App.Client(DevTokens.Therapist("t-av"));

        Assert.Equal(new AvailabilityResult { Available = true, Changed = true }, await client.SetAvailabilityAsync(true, Ct));
        Assert.Equal(new AvailabilityResult { Available = true, Changed = false }, await client.SetAvailabilityAsync(true, Ct));

        var board = await client.GetBoardAsync(cancellationToken: Ct);
        var entry = Assert.Single(board.Board!.Therapists, t => t.Id == "t-av");
        Assert.Equal("available", entry.Status);
        Assert.Equal(1, board.Board.Counts.Available);
    }

    [Fact]
    public async Task Sign_off_ends_the_session_and_after_the_leave_grace_the_lookup_says_recent()
    {
        var client = App.Client(DevTokens.Therapist("t-off"));
        await client.HeartbeatAsync(PresenceRole.Therapist, cancellationToken: Ct);

        await client.SignOffAsync(PresenceRole.Therapist, Ct);

        Assert.Equal(0, await App.Db.SortedSetLengthAsync(App.Keys.Sessions(Core.PresenceRole.Therapist, "t-off")));
        Assert.Equal("online", (await App.Client(null).GetPresenceAsync(PresenceRole.Therapist, "t-off", Ct)).Status);
        App.Time.Advance(TimeSpan.FromSeconds(10));
        var status = await App.Client(null).GetPresenceAsync(PresenceRole.Therapist, "t-off", Ct);
        Assert.Equal("recent", status.Status);
        Assert.Equal("t-off", status.Id);
        Assert.Equal("therapist", status.Role);
    }

    [Fact]
    public async Task Board_with_its_etag_is_not_modified_and_filters_apply()
    {
        await App.Client(DevTokens.Therapist("t-b1")).HeartbeatAsync(PresenceRole.Therapist, cancellationToken: Ct);
        await App.Client(DevTokens.Therapist("t-b2")).SetAvailabilityAsync(true, Ct);
        var anonymous = App.Client(null);

        var first = await anonymous.GetBoardAsync(cancellationToken: Ct);
        var again = await anonymous.GetBoardAsync(ifNoneMatch: first.ETag, cancellationToken: Ct);
        var online = await anonymous.GetBoardAsync(new BoardQuery { Statuses = ["online"], Limit = 10 }, cancellationToken: Ct);

        Assert.NotNull(first.ETag);
        Assert.Equal(["t-b1", "t-b2"], first.Board!.Therapists.Select(t => t.Id));
        Assert.False(first.Stale);
        Assert.True(again.NotModified);
        Assert.Null(again.Board);
        Assert.Equal(["t-b1"], online.Board!.Therapists.Select(t => t.Id));
        Assert.Equal(120, first.Board.Thresholds.OnlineSeconds);
    }

    [Fact]
    public async Task Batch_query_answers_each_id_in_order_and_stats_count_per_role()
    {
        await App.Client(DevTokens.Community("c-q1")).HeartbeatAsync(PresenceRole.Community, cancellationToken: Ct);
        var therapist = App.Client(DevTokens.Therapist("t-q"));

        var result = await therapist.QueryAsync(PresenceRole.Community, ["c-unknown", "c-q1"], Ct);
        var stats = await App.Client(null).GetStatsAsync(Ct);

        Assert.Equal("community", result.Role);
        Assert.Equal([("c-unknown", "offline"), ("c-q1", "online")], result.Users.Select(u => (u.Id, u.Status)));
        Assert.Equal(1, stats.Roles["community"].Online);
        Assert.Equal(0, stats.Roles["therapist"].Online);
    }

    public static TheoryData<string, string> BadTokens() => new()
    {
        { "none", "" },
        { "expired", DevTokens.Expired("therapist", "t-1") },
        { "bad-signature", DevTokens.Mint("therapist", "t-1", signingKey: "another-key-that-is-long-enough-0123456789") },
        { "garbage", "not.a.jwt" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Missing_or_invalid_token_is_unauthorized(string kind, string token)
    {
        var client = App.Client(token.Length == 0 ? null : token);

        var error = await Assert.ThrowsAsync<PresenceUnauthorizedException>(() => client.HeartbeatAsync(PresenceRole.Therapist, cancellationToken: Ct));

        Assert.True(error.Status == HttpStatusCode.Unauthorized, kind);
        Assert.False(await App.Db.AnyKeyExistsAsync(App.Keys.InAllShards(s => App.Keys.LastSeen(Core.PresenceRole.Therapist, s))));
    }

    [Fact]
    public async Task Wrong_role_is_forbidden_for_writes_and_for_the_batch()
    {
        var community = App.Client(DevTokens.Community("c-wrong"));

        await Assert.ThrowsAsync<PresenceForbiddenException>(() => community.SetAvailabilityAsync(true, Ct));
        await Assert.ThrowsAsync<PresenceForbiddenException>(() => community.HeartbeatAsync(PresenceRole.Therapist, cancellationToken: Ct));
        await Assert.ThrowsAsync<PresenceForbiddenException>(() => community.QueryAsync(PresenceRole.Therapist, ["t-1"], Ct));
        await Assert.ThrowsAsync<PresenceForbiddenException>(() => App.Client(DevTokens.Therapist("t-w")).SignOffAsync(PresenceRole.Community, Ct));
    }

    [Fact]
    public async Task Bad_input_is_a_bad_request_naming_the_field()
    {
        var therapist = App.Client(DevTokens.Therapist("t-bad"));

        var badId = await Assert.ThrowsAsync<PresenceBadRequestException>(() => therapist.GetPresenceAsync(PresenceRole.Therapist, "not an id!", Ct));
        var tooMany = await Assert.ThrowsAsync<PresenceBadRequestException>(
            () => therapist.QueryAsync(PresenceRole.Therapist, [.. Enumerable.Range(0, 501).Select(i => "t-" + i)], Ct));
        var badIdInBatch = await Assert.ThrowsAsync<PresenceBadRequestException>(() => therapist.QueryAsync(PresenceRole.Therapist, ["ok", "no way"], Ct));
        var badFilter = await Assert.ThrowsAsync<PresenceBadRequestException>(() => therapist.GetBoardAsync(new BoardQuery { Statuses = ["bogus"] }, cancellationToken: Ct));
        var badLimit = await Assert.ThrowsAsync<PresenceBadRequestException>(() => therapist.GetBoardAsync(new BoardQuery { Limit = 0 }, cancellationToken: Ct));
        var communityAvailable = await Assert.ThrowsAsync<PresenceBadRequestException>(
            () => App.Client(DevTokens.Community("c-bad")).HeartbeatAsync(PresenceRole.Community, new HeartbeatRequest { Available = true }, Ct));

        Assert.Contains(badId.Errors.Keys, k => k.Equals("id", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(tooMany.Errors.Keys, k => k.Equals("ids", StringComparison.OrdinalIgnoreCase));
        Assert.NotEmpty(badIdInBatch.Errors);
        Assert.Contains(badFilter.Errors.Keys, k => k.Equals("status", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(badLimit.Errors.Keys, k => k.Equals("limit", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(communityAvailable.Errors.Keys, k => k.Equals("available", StringComparison.OrdinalIgnoreCase));
        Assert.All(new PresenceApiException[] { badId, tooMany, badIdInBatch, badFilter, badLimit, communityAvailable },
            e => Assert.Equal(HttpStatusCode.BadRequest, e.Status));
    }
}

/// <summary>503 + <c>Retry-After</c> while Redis is down: surfaced typed, retried when asked to. A Redis of its own, since it is stopped.</summary>
public sealed class PresenceClientOutageTests(PrivateRedis own) : HostTests<Stack>(new(own.Server)), IClassFixture<PrivateRedis>
{
    protected override ValueTask DisposeCoreAsync() => new(own.Server.StartAsync());

    [Fact]
    public async Task Redis_outage_is_unavailable_with_retry_after_and_the_client_recovers_with_redis()
    {
        var ct = TestContext.Current.CancellationToken;
        var client = App.Client(DevTokens.Therapist("t-out"), unavailableRetries: 0);
        await client.HeartbeatAsync(PresenceRole.Therapist, cancellationToken: ct);
        await own.Server.StopAsync();

        var down = await Assert.ThrowsAsync<PresenceUnavailableException>(() => client.GetStatsAsync(ct));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.NotNull(down.RetryAfter);
        await own.Server.StartAsync();
        // Retrying after Retry-After (as the client does by default) gets through once the circuit lets calls pass.
        var retrying = App.Client(null, unavailableRetries: 10);
        await Poll.UntilAsync(async () =>
        {
            try
            {
                await retrying.GetStatsAsync(ct);
                return true;
            }
            catch (PresenceUnavailableException)
            {
                return false;
            }
        }, "stats answer again after Redis came back", timeout: TimeSpan.FromSeconds(30));
    }
}
