namespace Presence.HeartbeatApi.Tests;

public sealed class HeartbeatEndpointTests(RedisServer redis) : HostTests<HeartbeatApiFactory>(new(redis))
{
    [Fact]
    public async Task Therapist_heartbeat_without_body_is_accepted_and_recorded_under_the_token_id()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));
        var response = await client.PostAsync("/v1/therapists/heartbeat", null, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(body.GetProperty("accepted").GetBoolean());
        Assert.Equal(30, body.GetProperty("nextHeartbeatSeconds").GetInt32());
        Assert.Equal(App.Time.GetUtcNow(), body.GetProperty("serverTime").GetDateTimeOffset());
        Assert.False(body.TryGetProperty("clockSkewSeconds", out _));
        var nowMs = App.Time.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.Equal(nowMs + 120_000, (long)(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Therapist, "t-1"), "t-1"))!);
        Assert.Equal(nowMs, (long)(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Therapist, "t-1"), "t-1"))!);
    }

    [Fact]
    public async Task Heartbeat_with_an_empty_body_labelled_json_is_accepted()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-empty"));

        var response = await client.PostAsync("/v1/therapists/heartbeat", EmptyJson(), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Therapist, "t-empty"), "t-empty"));
    }

    [Fact]
    public async Task Sign_off_with_an_empty_body_labelled_json_is_accepted()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-empty-off"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/therapists/heartbeat", null, Ct)).StatusCode);

        var response = await client.PostAsync("/v1/therapists/offline", EmptyJson(), Ct);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        // The last session ended: the user is in the leave grace (docs/architecture.md, "Leave grace").
        Assert.Equal(0, await App.Db.SortedSetLengthAsync(App.Keys.Sessions(PresenceRole.Therapist, "t-empty-off")));
        Assert.Equal("1", (string?)await App.Db.HashGetAsync(App.Keys.User(PresenceRole.Therapist, "t-empty-off"), "leave"));
    }

    [Fact]
    public async Task Empty_chunked_body_labelled_json_is_accepted()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-chunked"));
        using var empty = new StreamContent(new MemoryStream());
        empty.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/therapists/heartbeat") { Content = empty };
        request.Headers.TransferEncodingChunked = true;

        var response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Empty_body_labelled_json_is_still_a_400_where_the_body_is_required()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-empty-put"));
        var response = await client.PutAsync("/v1/therapists/availability", EmptyJson(), Ct);

        await App.AssertRefusedAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Community_heartbeat_with_json_body_is_accepted()
    {
        using var client = App.CreateClient(DevTokens.Community("c-1"));
        var response = await client.PostAsync("/v1/community/heartbeat", Http.Json($$"""{"timestamp":"{{App.Time.GetUtcNow():O}}"}"""), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Community, "c-1"), "c-1"));
    }

    [Fact]
    public async Task Heartbeat_within_min_interval_is_refused_with_retry_after()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-2"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/therapists/heartbeat", null, Ct)).StatusCode);
        App.Time.Advance(TimeSpan.FromSeconds(3));

        var refused = await client.PostAsync("/v1/therapists/heartbeat", null, Ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), refused.Headers.RetryAfter?.Delta);
        await refused.ProblemAsync();

        App.Time.Advance(TimeSpan.FromSeconds(7));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/therapists/heartbeat", null, Ct)).StatusCode);
    }

    [Fact]
    public async Task Client_clock_more_than_five_minutes_off_is_reported_not_used()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-3"));
        var clientTime = App.Time.GetUtcNow().AddMinutes(-10);

        var response = await client.PostAsync("/v1/therapists/heartbeat", Http.Json($$"""{"timestamp":"{{clientTime:O}}"}"""), Ct);

        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(-600, body.GetProperty("clockSkewSeconds").GetDouble());
        Assert.Equal(App.Time.GetUtcNow().ToUnixTimeMilliseconds(),
            (long)(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(PresenceRole.Therapist, "t-3"), "t-3"))!);
    }

    [Fact]
    public async Task Therapist_heartbeat_can_mark_available()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-4"));
        var response = await client.PostAsync("/v1/therapists/heartbeat", Http.Json("""{"available":true}"""), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-4"), "t-4"));
    }

    [Fact]
    public async Task Availability_put_sets_and_clears_the_flag()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-5"));
        var on = await client.PutAsync("/v1/therapists/availability", Http.Json("""{"available":true}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        var body = await on.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(body.GetProperty("available").GetBoolean());
        Assert.True(body.GetProperty("changed").GetBoolean());
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-5"), "t-5"));

        var off = await client.PutAsync("/v1/therapists/availability", Http.Json("""{"available":false}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        Assert.Null(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-5"), "t-5"));
    }

    [Fact]
    public async Task Availability_put_takes_an_until_within_the_ttl_and_refuses_one_outside_it()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-until"));
        var until = App.Time.GetUtcNow().AddHours(3);
        var on = await client.PutAsync("/v1/therapists/availability",
            Http.Json($$"""{"available":true,"until":"{{until:O}}"}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        var body = await on.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(until, body.GetProperty("availableUntil").GetDateTimeOffset());
        Assert.Equal(until.ToUnixTimeMilliseconds(), (long)(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-until"), "t-until"))!);

        foreach (var bad in new[] { App.Time.GetUtcNow().AddMinutes(-1), App.Time.GetUtcNow().AddHours(13) })
        {
            var refused = await client.PutAsync("/v1/therapists/availability", Http.Json($$"""{"available":true,"until":"{{bad:O}}"}"""), Ct);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            await refused.ProblemAsync();
        }

        Assert.Equal(until.ToUnixTimeMilliseconds(), (long)(await App.Db.SortedSetScoreAsync(App.Keys.Available(PresenceRole.Therapist, "t-until"), "t-until"))!);
    }

    [Fact]
    public async Task Devices_named_in_the_body_or_the_header_are_sessions_and_signing_off_one_keeps_the_user_online()
    {
        using var client = App.CreateClient(DevTokens.Community("c-dev"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/community/heartbeat", Http.Json("""{"deviceId":"phone"}"""), Ct)).StatusCode);
        using var laptop = new HttpRequestMessage(HttpMethod.Post, "/v1/community/heartbeat");
        laptop.Headers.Add("X-Presence-Device", "laptop");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(laptop, Ct)).StatusCode);
        var sessions = await App.Db.SortedSetRangeByRankAsync(App.Keys.Sessions(PresenceRole.Community, "c-dev"));
        Assert.Equal(["rest:laptop", "rest:phone"], sessions.Select(v => v.ToString()).Order());

        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/v1/community/offline", Http.Json("""{"deviceId":"phone"}"""), Ct)).StatusCode);

        Assert.Equal(["rest:laptop"], (await App.Db.SortedSetRangeByRankAsync(App.Keys.Sessions(PresenceRole.Community, "c-dev"))).Select(v => v.ToString()));
        Assert.True(await App.Db.SortedSetScoreAsync(App.Keys.Online(PresenceRole.Community, "c-dev"), "c-dev") > App.Time.GetUtcNow().ToUnixTimeMilliseconds() + 60_000);
    }

    [Fact]
    public async Task A_bad_device_id_or_specialty_is_a_400_and_changes_nothing()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-bad"));
        var device = await client.PostAsync("/v1/therapists/heartbeat", Http.Json("""{"deviceId":"not a device"}"""), Ct);
        using var header = new HttpRequestMessage(HttpMethod.Post, "/v1/therapists/offline");
        header.Headers.Add("X-Presence-Device", "{tag}");
        var headerResponse = await client.SendAsync(header, Ct);
        var specialty = await client.PostAsync("/v1/therapists/heartbeat", Http.Json("""{"specialties":["astrology"]}"""), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, device.StatusCode);
        await device.ProblemAsync();
        Assert.Equal(HttpStatusCode.BadRequest, headerResponse.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, specialty.StatusCode);
        Assert.False(await App.AnyKeyAsync());
    }

    [Fact]
    public async Task A_therapist_heartbeat_stores_allow_listed_specialties()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-spec"));
        var response = await client.PostAsync("/v1/therapists/heartbeat", Http.Json("""{"specialties":["anxiety","ocd"]}"""), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("anxiety,ocd", (string?)await App.Db.HashGetAsync(App.Keys.Specialties(PresenceRole.Therapist, "t-spec"), "t-spec"));
    }

    [Fact]
    public async Task Availability_without_the_flag_is_a_400()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-6"));
        var response = await client.PutAsync("/v1/therapists/availability", Http.Json("{}"), Ct);

        await App.AssertRefusedAsync(response, HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("therapists", "therapist")]
    [InlineData("community", "community")]
    public async Task Sign_off_ends_the_session_and_the_user_stays_online_only_for_the_leave_grace(string segment, string role)
    {
        using var client = App.CreateClient(DevTokens.Mint(role, "u-1"));
        await client.PostAsync($"/v1/{segment}/heartbeat", null, Ct);
        Roles.TryParse(role, out var parsed);

        var response = await client.PostAsync($"/v1/{segment}/offline", null, Ct);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(App.Time.GetUtcNow().ToUnixTimeMilliseconds() + 10_000, await App.Db.SortedSetScoreAsync(App.Keys.Online(parsed!.Value, "u-1"), "u-1"));
        Assert.Equal(0, await App.Db.SortedSetLengthAsync(App.Keys.Sessions(parsed.Value, "u-1")));
        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.LastSeen(parsed.Value, "u-1"), "u-1"));
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync($"/v1/{segment}/offline", null, Ct)).StatusCode);
    }

    [Fact]
    public async Task Openapi_document_lists_the_endpoints()
    {
        using var client = App.CreateClient();
        var doc = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Ct);
        var paths = doc.GetProperty("paths");
        foreach (var path in new[]
        {
            "/v1/therapists/heartbeat", "/v1/community/heartbeat", "/v1/therapists/availability",
            "/v1/therapists/offline", "/v1/community/offline",
        })
        {
            Assert.True(paths.TryGetProperty(path, out _), path);
        }
    }

    private static ByteArrayContent EmptyJson()
    {
        var empty = new ByteArrayContent([]);
        empty.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return empty;
    }
}
