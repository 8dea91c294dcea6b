namespace Presence.StatusQuery.Tests;

public sealed class LookupEndpointTests(RedisServer redis) : HostTests<StatusQueryApp>(new(redis))
{
    public static TheoryData<string, string?, HttpStatusCode> Matrix => new()
    {
        // target, caller token ("role:sub" or null for anonymous), expected
        { "therapist/t-1", null, HttpStatusCode.OK },
        { "therapist/t-1", "community:c-1", HttpStatusCode.OK },
        { "therapist/t-1", "therapist:t-2", HttpStatusCode.OK },
        { "community/c-1", null, HttpStatusCode.Unauthorized },
        { "community/c-1", "community:c-1", HttpStatusCode.OK },
        { "community/c-1", "community:c-2", HttpStatusCode.Forbidden },
        { "community/c-1", "therapist:t-2", HttpStatusCode.OK },
        { "community/c-1", "expired", HttpStatusCode.Unauthorized },
        { "community/c-1", "unsigned", HttpStatusCode.Unauthorized },
        { "community/c-1", "community:c-1-other-role-claim-missing", HttpStatusCode.Forbidden },
    };

    [Fact]
    public async Task A_lookup_shows_specialties_and_the_explicit_end_of_the_availability()
    {
        await App.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-look", HeartbeatTransport.Rest, Specialties: ["sleep"]), Ct);
        var until = DateTimeOffset.FromUnixTimeMilliseconds(App.Time.GetUtcNow().AddHours(1).ToUnixTimeMilliseconds());
        await App.Store.SetAvailabilityAsync(PresenceRole.Therapist, "t-look", true, until, Ct);
        using var client = App.CreateClient(token: null);

        var json = await client.GetFromJsonAsync<JsonElement>("/v1/presence/therapist/t-look", Ct);

        Assert.Equal(["sleep"], json.GetProperty("specialties").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(until, json.GetProperty("availableUntil").GetDateTimeOffset());
        Assert.True(json.GetProperty("available").GetBoolean());
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Privacy_matrix(string target, string? caller, HttpStatusCode expected)
    {
        await App.BeatAsync("t-1");
        await App.BeatAsync("c-1", PresenceRole.Community);
        using var client = App.CreateClient(Token(caller));

        using var response = await client.GetAsync("/v1/presence/" + target, Ct);

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            var json = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal("online", json.GetProperty("status").GetString());
        }
        else
        {
            await response.ProblemAsync();
        }

        if (expected == HttpStatusCode.Unauthorized)
        {
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
    }

    [Fact]
    public async Task A_refusal_is_the_same_whether_or_not_the_user_exists()
    {
        await App.BeatAsync("c-known", PresenceRole.Community);
        using var anonymous = App.CreateClient(token: null);
        using var stranger = App.CreateClient(DevTokens.Community("c-stranger"));

        foreach (var client in new[] { anonymous, stranger })
        {
            using var known = await client.GetAsync("/v1/presence/community/c-known", Ct);
            using var unknown = await client.GetAsync("/v1/presence/community/c-unknown", Ct);
            Assert.Equal(known.StatusCode, unknown.StatusCode);
            Assert.NotEqual(HttpStatusCode.NotFound, known.StatusCode);
            var knownBody = await known.Content.ReadFromJsonAsync<JsonElement>(Ct);
            var unknownBody = await unknown.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal(knownBody.GetProperty("detail").GetString(), unknownBody.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task Unknown_user_is_offline_not_404()
    {
        using var client = App.CreateClient(token: null);

        var json = await client.GetFromJsonAsync<JsonElement>("/v1/presence/therapist/nobody", Ct);

        Assert.Equal("therapist", json.GetProperty("role").GetString());
        Assert.Equal("nobody", json.GetProperty("id").GetString());
        Assert.Equal("offline", json.GetProperty("status").GetString());
        Assert.False(json.GetProperty("available").GetBoolean());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("lastActive").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("lastActiveAgo").ValueKind);
    }

    [Fact]
    public async Task Lookup_reports_recent_with_the_server_text_and_the_available_flag()
    {
        await App.BeatAsync("t-1", available: true);
        App.Time.Advance(TimeSpan.FromMinutes(5));
        using var client = App.CreateClient(token: null);

        var json = await client.GetFromJsonAsync<JsonElement>("/v1/presence/therapist/t-1", Ct);

        Assert.Equal("recent", json.GetProperty("status").GetString());
        Assert.Equal("5m ago", json.GetProperty("lastActiveAgo").GetString());
        Assert.True(json.GetProperty("available").GetBoolean());
    }

    [Theory]
    [InlineData("/v1/presence/admin/x-1")]
    [InlineData("/v1/presence/therapists/t-1")]
    [InlineData("/v1/presence/therapist/has%20space")]
    [InlineData("/v1/presence/therapist/a:b")]
    [InlineData("/v1/presence/community/%7Btag%7D")]
    public async Task Bad_role_or_id_is_a_400_problem(string url)
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));

        using var response = await client.GetAsync(url, Ct);

        await response.ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_bad_id_in_the_route_is_refused_where_it_is_bound_with_the_pattern_it_must_match()
    {
        await using var app = new StatusQueryApp(redis);
        using var client = app.CreateClient(DevTokens.Therapist("t-1"));

        using var response = await client.GetAsync("/v1/presence/community/a:b", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("must match", problem, StringComparison.Ordinal);
    }

    private static string? Token(string? caller) => caller switch
    {
        null => null,
        "expired" => DevTokens.Expired("therapist", "t-2"),
        "unsigned" => DevTokens.Unsigned("therapist", "t-2"),
        "community:c-1-other-role-claim-missing" => DevTokens.Mint("", "c-1"),
        _ => DevTokens.Mint(caller.Split(':')[0], caller.Split(':')[1]),
    };
}
