using System.Net.Http.Headers;

namespace Presence.StatusQuery.Tests;

public sealed class BoardEndpointTests(RedisServer redis) : HostTests<StatusQueryApp>(new(redis))
{
    [Fact]
    public async Task Board_has_the_contract_shape_with_totals_thresholds_and_entries()
    {
        await App.BeatAsync("t-1", available: true);
        await App.SetAvailableAsync("t-2");
        using var client = App.CreateClient(token: null);

        using var response = await client.GetAsync(StatusQueryApp.BoardUrl, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(json.TryGetProperty("generatedAt", out _));
        Assert.Equal(120, json.GetProperty("thresholds").GetProperty("onlineSeconds").GetInt32());
        Assert.Equal(3600, json.GetProperty("thresholds").GetProperty("recentSeconds").GetInt32());
        var counts = json.GetProperty("counts");
        Assert.Equal((1, 0, 1), (counts.GetProperty("online").GetInt32(), counts.GetProperty("recent").GetInt32(), counts.GetProperty("available").GetInt32()));
        var first = json.GetProperty("therapists")[0];
        Assert.Equal("t-1", first.GetProperty("id").GetString());
        Assert.Equal("online", first.GetProperty("status").GetString());
        Assert.True(first.GetProperty("available").GetBoolean());
        Assert.Equal(App.Time.GetUtcNow().ToUnixTimeMilliseconds(), first.GetProperty("lastActive").GetDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.Equal("just now", first.GetProperty("lastActiveAgo").GetString());
        var second = json.GetProperty("therapists")[1];
        Assert.Equal("available", second.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("lastActive").ValueKind);
        Assert.False(json.TryGetProperty("nextCursor", out _));
    }

    [Fact]
    public async Task Status_filter_lists_only_those_buckets_and_counts_stay_totals()
    {
        await App.BeatAsync("t-recent");
        await App.AdvanceAsync(TimeSpan.FromSeconds(130));
        await App.BeatAsync("t-online");
        await App.SetAvailableAsync("t-available");
        using var client = App.CreateClient(token: null);

        var json = await client.GetFromJsonAsync<JsonElement>(StatusQueryApp.BoardUrl + "?status=recent,available", Ct);

        Assert.Equal(["t-recent", "t-available"], Ids(json));
        Assert.Equal(1, json.GetProperty("counts").GetProperty("online").GetInt32());
        var online = await client.GetFromJsonAsync<JsonElement>(StatusQueryApp.BoardUrl + "?status=online", Ct);
        Assert.Equal(["t-online"], Ids(online));
    }

    [Fact]
    public async Task Specialty_filter_lists_only_therapists_with_it_and_entries_show_specialties_and_available_until()
    {
        await App.Store.HeartbeatAsync(new Core.Heartbeat(PresenceRole.Therapist, "t-anx", Core.HeartbeatTransport.Rest, Specialties: ["anxiety", "ocd"]), Ct);
        await App.Store.HeartbeatAsync(new Core.Heartbeat(PresenceRole.Therapist, "t-grief", Core.HeartbeatTransport.Rest, Specialties: ["grief"]), Ct);
        var until = DateTimeOffset.FromUnixTimeMilliseconds(App.Time.GetUtcNow().AddHours(2).ToUnixTimeMilliseconds());
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-anx", true, until, Ct);
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-grief", true, Ct);
        using var client = App.CreateClient(token: null);

        var json = await client.GetFromJsonAsync<JsonElement>(StatusQueryApp.BoardUrl + "?specialty=anxiety", Ct);
        var all = await client.GetFromJsonAsync<JsonElement>(StatusQueryApp.BoardUrl, Ct);

        Assert.Equal(["t-anx"], Ids(json));
        var entry = json.GetProperty("therapists")[0];
        Assert.Equal(["anxiety", "ocd"], entry.GetProperty("specialties").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(until, entry.GetProperty("availableUntil").GetDateTimeOffset());
        Assert.True(entry.GetProperty("ver").GetInt64() > 0);
        Assert.Equal(2, Ids(all).Length);
        // Available without an explicit end: no availableUntil (not the Unix epoch).
        var grief = all.GetProperty("therapists").EnumerateArray().Single(t => t.GetProperty("id").GetString() == "t-grief");
        Assert.True(!grief.TryGetProperty("availableUntil", out var none) || none.ValueKind == JsonValueKind.Null, grief.ToString());
        Assert.Empty(Ids(await client.GetFromJsonAsync<JsonElement>(StatusQueryApp.BoardUrl + "?specialty=trauma", Ct)));
    }

    [Theory]
    [InlineData("?specialty=astrology")]
    [InlineData("?specialty=ANXIETY")]
    [InlineData("?status=busy")]
    [InlineData("?status=online,offline")]
    [InlineData("?limit=0")]
    [InlineData("?limit=100000")]
    [InlineData("?limit=ten")]
    [InlineData("?cursor=not-a-cursor")]
    [InlineData("?cursor=MTp4Onst")]
    public async Task Bad_query_is_a_400_problem(string query)
    {
        using var client = App.CreateClient(token: null);

        using var response = await client.GetAsync(StatusQueryApp.BoardUrl + query, Ct);

        await response.ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Pages_follow_the_cursor_through_the_whole_board_in_order_without_repeats()
    {
        for (var i = 0; i < 7; i++)
        {
            await App.BeatAsync($"t-{i}");
            App.Time.Advance(TimeSpan.FromSeconds(1));
        }

        for (var i = 0; i < 4; i++)
        {
            await App.SetAvailableAsync($"a-{i}");
        }

        using var client = App.CreateClient(token: null);
        var whole = Ids(await client.GetFromJsonAsync<JsonElement>(StatusQueryApp.BoardUrl, Ct));
        var paged = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var url = StatusQueryApp.BoardUrl + "?limit=3" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            var page = await client.GetFromJsonAsync<JsonElement>(url, Ct);
            Assert.Equal(11, page.GetProperty("counts").GetProperty("online").GetInt32() + page.GetProperty("counts").GetProperty("available").GetInt32());
            paged.AddRange(Ids(page));
            cursor = page.TryGetProperty("nextCursor", out var next) ? next.GetString() : null;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(4, pages);
        Assert.Equal(whole, paged);
        Assert.Equal(["t-6", "t-5", "t-4", "t-3", "t-2", "t-1", "t-0", "a-0", "a-1", "a-2", "a-3"], whole);
    }

    [Fact]
    public async Task A_cursor_stays_valid_when_the_board_changes_between_pages()
    {
        foreach (var id in new[] { "a-1", "a-2", "a-3", "a-4" })
        {
            await App.SetAvailableAsync(id);
        }

        using var client = App.CreateClient(token: null);
        var first = await client.GetFromJsonAsync<JsonElement>(StatusQueryApp.BoardUrl + "?limit=2", Ct);
        Assert.Equal(["a-1", "a-2"], Ids(first));

        // a-1 comes online: it moves ahead of the cursor, which must neither repeat nor skip the rest.
        await App.BeatAsync("a-1", available: true);
        await App.AdvanceAsync(TimeSpan.FromSeconds(3));
        var cursor = first.GetProperty("nextCursor").GetString()!;
        var second = await client.GetFromJsonAsync<JsonElement>(StatusQueryApp.BoardUrl + "?limit=2&cursor=" + Uri.EscapeDataString(cursor), Ct);

        Assert.Equal(["a-3", "a-4"], Ids(second));
    }

    [Fact]
    public async Task Board_carries_a_strong_etag_and_short_public_cache_control_and_if_none_match_gets_304()
    {
        await App.BeatAsync("t-1");
        using var client = App.CreateClient(token: null);

        using var first = await client.GetAsync(StatusQueryApp.BoardUrl, Ct);
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);
        Assert.True(first.Headers.CacheControl?.Public);
        Assert.Equal(TimeSpan.FromSeconds(5), first.Headers.CacheControl?.MaxAge);

        // Served by the output cache (a hit), then by the endpoint after a rebuild with unchanged content.
        foreach (var rebuild in new[] { false, true })
        {
            if (rebuild)
            {
                await App.AdvanceAsync(TimeSpan.FromSeconds(3));
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, StatusQueryApp.BoardUrl);
            request.Headers.IfNoneMatch.Add(etag);
            using var again = await client.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
            Assert.Empty(await again.Content.ReadAsByteArrayAsync(Ct));
            Assert.Equal(etag, again.Headers.ETag);
        }

        await App.SetAvailableAsync("t-2");
        await App.AdvanceAsync(TimeSpan.FromSeconds(3));
        using var changedRequest = new HttpRequestMessage(HttpMethod.Get, StatusQueryApp.BoardUrl);
        changedRequest.Headers.IfNoneMatch.Add(etag);
        using var changed = await client.SendAsync(changedRequest, Ct);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.Headers.ETag);
        Assert.Equal(["t-1", "t-2"], Ids(await changed.Content.ReadFromJsonAsync<JsonElement>(Ct)));
    }

    [Fact]
    public async Task Hundred_concurrent_polls_cost_one_board_build()
    {
        await App.BeatAsync("t-1");
        using var builds = App.CountBuilds();
        using var client = App.CreateClient(token: null);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => client.GetAsync(StatusQueryApp.BoardUrl, Ct)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Single(responses.Select(r => r.Headers.ETag!.Tag).Distinct());
        Assert.Equal(1, builds.Builds);
        foreach (var r in responses)
        {
            r.Dispose();
        }
    }

    [Fact]
    public async Task Concurrent_polls_of_different_filters_and_pages_share_one_build_per_interval()
    {
        await App.BeatAsync("t-1");
        await App.SetAvailableAsync("t-2");
        using var builds = App.CountBuilds();
        string[] urls = ["", "?status=online", "?status=available", "?limit=1", "?status=online,recent&limit=5"];

        async Task PollAllAsync()
        {
            var statuses = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
            {
                // Half the pollers send a token: a public board is shared with them too.
                using var client = App.CreateClient(i % 2 == 0 ? null : DevTokens.Community("c-" + i));
                using var response = await client.GetAsync(StatusQueryApp.BoardUrl + urls[i % urls.Length], Ct);
                return response.StatusCode;
            }));
            Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        }

        await PollAllAsync();
        Assert.Equal(1, builds.Builds);

        App.Time.Advance(TimeSpan.FromSeconds(1));
        await PollAllAsync();
        Assert.Equal(1, builds.Builds);

        await App.AdvanceAsync(TimeSpan.FromSeconds(1));
        await PollAllAsync();
        Assert.Equal(2, builds.Builds);
    }

    [Fact]
    public async Task Allowed_origins_get_cors_headers_and_others_do_not()
    {
        App.Settings["Cors:AllowedOrigins:0"] = "https://frontend.example";
        using var client = App.CreateClient(token: null);

        using var allowed = new HttpRequestMessage(HttpMethod.Get, StatusQueryApp.BoardUrl);
        allowed.Headers.Add("Origin", "https://frontend.example");
        using var allowedResponse = await client.SendAsync(allowed, Ct);
        Assert.Equal("https://frontend.example", allowedResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("ETag", allowedResponse.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);

        using var other = new HttpRequestMessage(HttpMethod.Get, StatusQueryApp.BoardUrl);
        other.Headers.Add("Origin", "https://evil.example");
        using var otherResponse = await client.SendAsync(other, Ct);
        Assert.False(otherResponse.Headers.Contains("Access-Control-Allow-Origin"));

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/presence/query");
        preflight.Headers.Add("Origin", "https://frontend.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        using var preflightResponse = await client.SendAsync(preflight, Ct);
        Assert.Equal(HttpStatusCode.NoContent, preflightResponse.StatusCode);
        Assert.Equal("https://frontend.example", preflightResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task Page_is_served_at_the_root_with_its_configuration()
    {
        App.Settings["StatusQuery:GatewayUrl"] = "http://127.0.0.1:5102/";
        App.Settings["StatusQuery:PagePollInterval"] = "00:00:30";
        using var client = App.CreateClient(token: null);

        var html = await client.GetStringAsync("/", Ct);
        var config = await client.GetFromJsonAsync<JsonElement>("/v1/board/config", Ct);

        Assert.Contains("<h1>Therapists</h1>", html, StringComparison.Ordinal);
        Assert.Contains("board.js", html, StringComparison.Ordinal);
        Assert.Equal(30, config.GetProperty("pollSeconds").GetInt32());
        Assert.Equal("http://127.0.0.1:5102/hubs/presence", config.GetProperty("hubUrl").GetString());
        Assert.Equal(StatusQueryApp.BoardUrl, config.GetProperty("boardUrl").GetString());
    }

    private static string[] Ids(JsonElement board) =>
        [.. board.GetProperty("therapists").EnumerateArray().Select(t => t.GetProperty("id").GetString()!)];
}
