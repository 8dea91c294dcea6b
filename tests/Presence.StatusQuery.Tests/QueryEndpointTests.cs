using System.Text;

namespace Presence.StatusQuery.Tests;

public sealed class QueryEndpointTests(RedisServer redis) : HostTests<StatusQueryApp>(new(redis))
{
    private const string Url = "/v1/presence/query";

    [Fact]
    public async Task Therapist_gets_statuses_in_the_order_asked_with_duplicates_collapsed()
    {
        await App.BeatAsync("c-1", PresenceRole.Community);
        App.Time.Advance(TimeSpan.FromMinutes(3));
        await App.BeatAsync("c-2", PresenceRole.Community);
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));

        using var response = await client.PostAsJsonAsync(Url, new { role = "community", ids = new[] { "c-2", "c-unknown", "c-1", "c-2" } }, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("community", json.GetProperty("role").GetString());
        var users = json.GetProperty("users").EnumerateArray().ToArray();
        Assert.Equal(["c-2", "c-unknown", "c-1"], users.Select(u => u.GetProperty("id").GetString()));
        Assert.Equal(["online", "offline", "recent"], users.Select(u => u.GetProperty("status").GetString()));
        Assert.Equal("3m ago", users[2].GetProperty("lastActiveAgo").GetString());
    }

    [Fact]
    public async Task Five_hundred_ids_of_full_length_are_accepted()
    {
        await App.BeatAsync("t-live");
        var ids = Enumerable.Range(0, 499).Select(i => i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture).PadLeft(UserId.MaxLength, 'x')).Append("t-live").ToArray();
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));

        using var response = await client.PostAsJsonAsync(Url, new { role = "therapist", ids }, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var users = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("users");
        Assert.Equal(500, users.GetArrayLength());
        Assert.Equal("online", users[499].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Five_hundred_and_one_ids_are_a_400_problem()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));

        using var response = await client.PostAsJsonAsync(Url, new { role = "therapist", ids = Enumerable.Range(0, 501).Select(i => "t-" + i) }, Ct);

        await response.ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("500", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"role":"therapist","ids":[]}""")]
    [InlineData("""{"role":"therapist"}""")]
    [InlineData("""{"ids":["t-1"]}""")]
    [InlineData("""{"role":"admin","ids":["t-1"]}""")]
    [InlineData("""{"role":"therapist","ids":["ok","not ok"]}""")]
    [InlineData("""{"role":"therapist","ids":["a:b"]}""")]
    [InlineData("""{"role":"therapist","ids":"t-1"}""")]
    [InlineData("""{"role":"therapist","ids":["t-1"]""")]
    [InlineData("not json")]
    public async Task Bad_bodies_are_a_400_problem(string body)
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));

        using var response = await client.PostAsync(Url, new StringContent(body, Encoding.UTF8, "application/json"), Ct);

        await response.ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_bad_id_fails_the_body_as_it_is_read_with_the_pattern_it_must_match()
    {
        await using var app = new StatusQueryApp(redis);
        using var client = app.CreateClient(DevTokens.Therapist("t-1"));

        foreach (var bad in new[] { "\"not ok\"", "null", "7" })
        {
            var body = """{"role":"therapist","ids":["t-1",""" + bad + "]}";
            using var response = await client.PostAsync(Url, new StringContent(body, Encoding.UTF8, "application/json"), Ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("must match", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Anonymous_is_401_and_a_community_user_403()
    {
        using var anonymous = App.CreateClient(token: null);
        using var community = App.CreateClient(DevTokens.Community("c-1"));
        var body = new { role = "therapist", ids = new[] { "t-1" } };

        using var unauthorized = await anonymous.PostAsJsonAsync(Url, body, Ct);
        using var forbidden = await community.PostAsJsonAsync(Url, body, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));
        var huge = """{"role":"therapist","ids":["t-1"],"pad":""" + "\"" + new string('x', 140_000) + "\"}";

        using var response = await client.PostAsync(Url, new StringContent(huge, Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }
}
