namespace Presence.HeartbeatApi.Tests;

/// <summary>A frontend on another origin sends heartbeats: the preflight is granted to the configured origins only.</summary>
public sealed class CorsTests(RedisServer redis) : HostTests<HeartbeatApiFactory>(new(redis)), IAsyncLifetime
{
    private const string Frontend = "https://frontend.example";

    public ValueTask InitializeAsync()
    {
        // The one value a deployment sets (k8s: FRONTEND_URL in presence-config); the list from appsettings stays.
        App.Settings["FRONTEND_URL"] = Frontend + "/";
        return ValueTask.CompletedTask;
    }

    [Theory]
    [InlineData("/v1/therapists/heartbeat", "POST")]
    [InlineData("/v1/community/offline", "POST")]
    [InlineData("/v1/therapists/availability", "PUT")]
    public async Task Preflight_from_the_frontend_origin_is_granted_and_cached_without_credentials(string path, string method)
    {
        using var client = App.CreateClient(token: null);

        using var response = await client.SendAsync(Preflight(path, method, Frontend), Ct);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(Frontend, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains(method, response.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        var headers = response.Headers.GetValues("Access-Control-Allow-Headers").Single().ToUpperInvariant();
        Assert.Contains("AUTHORIZATION", headers, StringComparison.Ordinal);
        Assert.Contains("X-PRESENCE-DEVICE", headers, StringComparison.Ordinal);
        Assert.Equal("600", response.Headers.GetValues("Access-Control-Max-Age").Single());
        // A Bearer-token API: cookies are never needed, so none are invited.
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Preflight_from_another_origin_gets_no_grant()
    {
        using var client = App.CreateClient(token: null);

        using var response = await client.SendAsync(Preflight("/v1/therapists/heartbeat", "POST", "https://evil.example"), Ct);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Methods"));
    }

    [Fact]
    public async Task A_refused_heartbeat_still_carries_cors_headers_and_exposes_retry_after()
    {
        using var client = App.CreateClient(DevTokens.Therapist("t-cors"));
        using var first = new HttpRequestMessage(HttpMethod.Post, "/v1/therapists/heartbeat");
        first.Headers.Add("Origin", Frontend);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(first, Ct)).StatusCode);

        using var second = new HttpRequestMessage(HttpMethod.Post, "/v1/therapists/heartbeat");
        second.Headers.Add("Origin", Frontend);
        using var refused = await client.SendAsync(second, Ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(Frontend, refused.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Retry-After", refused.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
    }

    private static HttpRequestMessage Preflight(string path, string method, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,x-presence-device");
        return request;
    }
}
