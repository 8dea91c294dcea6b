using System.Net.Http.Headers;

namespace Presence.HeartbeatApi.Tests;

/// <summary>docs/architecture.md, "Failure behaviour": each bad input gets a problem-details 4xx and changes nothing in Redis.</summary>
public sealed class BadInputTests(RedisServer redis) : HostTests<HeartbeatApiFactory>(new(redis))
{
    public static TheoryData<string, string> BadTokens() => new()
    {
        { "none", "" },
        { "bad-signature", DevTokens.Mint("therapist", "t-1", signingKey: "another-key-that-is-long-enough-0123456789") },
        { "expired", DevTokens.Expired("therapist", "t-1") },
        { "wrong-issuer", DevTokens.Mint("therapist", "t-1", issuer: "someone-else") },
        { "wrong-audience", DevTokens.Mint("therapist", "t-1", audience: "another-api") },
        { "alg-none", DevTokens.Unsigned("therapist", "t-1") },
        { "garbage", "not.a.jwt" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Missing_or_invalid_token_is_401(string kind, string token)
    {
        using var client = App.CreateClient(token.Length == 0 ? null : token);
        var response = await client.PostAsync("/v1/therapists/heartbeat", null, Ct);

        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, kind);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        await response.ProblemAsync();
        Assert.False(await App.AnyKeyAsync());
    }

    [Theory]
    [InlineData("community", "/v1/therapists/heartbeat")]
    [InlineData("community", "/v1/therapists/offline")]
    [InlineData("therapist", "/v1/community/heartbeat")]
    [InlineData("therapist", "/v1/community/offline")]
    [InlineData("", "/v1/therapists/heartbeat")]
    [InlineData("admin", "/v1/community/heartbeat")]
    public async Task Wrong_role_is_403(string role, string path)
    {
        using var client = App.CreateClient(DevTokens.Mint(role, "u-1"));
        var response = await client.PostAsync(path, null, Ct);

        await App.AssertRefusedAsync(response, HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("PUT", "/v1/therapists/availability", HttpStatusCode.Forbidden)] // a community token cannot set it
    [InlineData("POST", "/v1/community/heartbeat", HttpStatusCode.BadRequest)]   // nor can a community heartbeat carry it
    public async Task A_community_user_cannot_mark_itself_available(string method, string path, HttpStatusCode status)
    {
        using var client = App.CreateClient(DevTokens.Community("c-1"));
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Http.Json("""{"available":true}""") };
        var response = await client.SendAsync(request, Ct);

        await App.AssertRefusedAsync(response, status);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("a:b")]
    [InlineData("{therapist}")]
    [InlineData("x*")]
    [InlineData("t-1\n")]
    public async Task Sub_that_is_not_a_valid_id_is_400(string sub)
    {
        using var client = App.CreateClient(DevTokens.Therapist(sub));
        foreach (var request in new[]
        {
            client.PostAsync("/v1/therapists/heartbeat", null, Ct),
            client.PutAsync("/v1/therapists/availability", Http.Json("""{"available":true}"""), Ct),
            client.PostAsync("/v1/therapists/offline", null, Ct),
        })
        {
            var response = await request;
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            await response.ProblemAsync();
        }

        Assert.False(await App.AnyKeyAsync());
    }

    [Fact]
    public async Task Sub_longer_than_128_characters_is_400()
    {
        using var client = App.CreateClient(DevTokens.Therapist(new string('a', 129)));
        var response = await client.PostAsync("/v1/therapists/heartbeat", null, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(await App.AnyKeyAsync());
    }

    [Theory]
    [InlineData("{\"timestamp\":")]
    [InlineData("{not json}")]
    [InlineData("[1,2")]
    public async Task Malformed_json_is_400(string body)
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));
        var response = await client.PostAsync("/v1/therapists/heartbeat", Http.Json(body), Ct);

        await App.AssertRefusedAsync(response, HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("/v1/therapists/heartbeat", "{\"available\":\"yes\"}")]
    [InlineData("/v1/therapists/heartbeat", "{\"timestamp\":12}")]
    [InlineData("/v1/therapists/heartbeat", "{\"timestamp\":\"yesterday\"}")]
    [InlineData("/v1/therapists/availability", "{\"available\":1}")]
    [InlineData("/v1/therapists/availability", "[true]")]
    public async Task Wrong_types_are_400(string path, string body)
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));
        var content = Http.Json(body);
        var response = path.EndsWith("availability", StringComparison.Ordinal)
            ? await client.PutAsync(path, content, Ct)
            : await client.PostAsync(path, content, Ct);

        await App.AssertRefusedAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Body_over_4_KiB_is_413()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));
        var big = "{\"timestamp\":\"2026-11-27T12:00:00Z\",\"pad\":\"" + new string('x', 4200) + "\"}";

        var response = await client.PostAsync("/v1/therapists/heartbeat", Http.Json(big), Ct);

        await App.AssertRefusedAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Body_of_exactly_4_KiB_is_read()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));
        var prefix = "{\"pad\":\"";
        var body = prefix + new string('x', 4096 - prefix.Length - 2) + "\"}";
        Assert.Equal(4096, body.Length);

        var response = await client.PostAsync("/v1/therapists/heartbeat", Http.Json(body), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Wrong_content_type_on_availability_is_415()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-1"));
        var content = new StringContent("available=true");
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");

        var response = await client.PutAsync("/v1/therapists/availability", content, Ct);

        await App.AssertRefusedAsync(response, HttpStatusCode.UnsupportedMediaType);
    }
}
