using Microsoft.Extensions.Time.Testing;

namespace Presence.Client.Tests;

/// <summary><c>services.AddPresenceClient(...)</c> against the real heartbeat-api and status-query: one token provider, asked per request.</summary>
public sealed class ClientRegistrationTests(RedisServer redis) : HostTests<Stack>(new(redis))
{
    [Fact]
    public async Task AddPresenceClient_registers_the_rest_and_hub_clients_over_one_token_provider_asked_for_every_request()
    {
        var tokens = new List<string>();
        var services = new ServiceCollection();
        var presence = services.AddPresenceClient(o => o.BaseAddress = new Uri("http://presence.test/"), _ => _ =>
        {
            // A fresh token each time, as a refreshing token cache hands out.
            var token = DevTokens.Mint("therapist", "t-di", lifetime: TimeSpan.FromMinutes(30 + tokens.Count));
            tokens.Add(token);
            return ValueTask.FromResult<string?>(token);
        });
        presence.HeartbeatApi.ConfigurePrimaryHttpMessageHandler(() => App.HeartbeatApi.Server.CreateHandler());
        presence.StatusQuery.ConfigurePrimaryHttpMessageHandler(() => App.StatusQuery.Server.CreateHandler());
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var client = provider.GetRequiredService<PresenceClient>();
        await client.HeartbeatAsync(PresenceRole.Therapist, cancellationToken: Ct);
        var board = await client.GetBoardAsync(cancellationToken: Ct);

        Assert.NotNull(await App.Db.SortedSetScoreAsync(App.Keys.Online(Core.PresenceRole.Therapist, "t-di"), "t-di"));
        Assert.Contains(board.Board!.Therapists, t => t.Id == "t-di");
        Assert.Equal(2, tokens.Distinct().Count());
        Assert.Same(provider.GetRequiredService<PresenceHubClient>(), provider.GetRequiredService<PresenceHubClient>());
    }

    [Fact]
    public void AddPresenceClient_without_an_address_fails_at_resolution_with_a_clear_message()
    {
        var services = new ServiceCollection();
        services.AddPresenceClient(_ => { });
        using var provider = services.BuildServiceProvider();

        var error = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<PresenceClient>());
        Assert.Contains("BaseAddress", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>The Retry-After retry of <see cref="PresenceResilience"/> (Microsoft.Extensions.Http.Resilience), on a fake clock.</summary>
public sealed class ClientRetryTests
{
    [Fact]
    public async Task A_503_is_retried_after_its_retry_after_and_not_sooner()
    {
        var time = new FakeTimeProvider();
        var server = new AnsweringHandler(Unavailable(TimeSpan.FromSeconds(2)), new HttpResponseMessage(HttpStatusCode.NoContent));
        var client = Client(server, new PresenceClientOptions { TimeProvider = time, UnavailableRetries = 2 });

        var call = client.SignOffAsync(PresenceRole.Therapist, Ct);
        await Poll.UntilAsync(() => Task.FromResult(server.Calls == 1), "the first attempt", timeout: TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.False(call.IsCompleted);
        Assert.Equal(1, server.Calls);
        time.Advance(TimeSpan.FromSeconds(0.1));

        await call.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(2, server.Calls);
    }

    [Fact]
    public async Task A_retry_after_longer_than_the_max_wait_is_not_waited_for_and_the_exception_carries_it()
    {
        var server = new AnsweringHandler(Unavailable(TimeSpan.FromSeconds(60)), new HttpResponseMessage(HttpStatusCode.NoContent));
        var client = Client(server, new PresenceClientOptions { MaxRetryAfterWait = TimeSpan.FromSeconds(10) });

        var error = await Assert.ThrowsAsync<PresenceUnavailableException>(() => client.SignOffAsync(PresenceRole.Therapist, Ct));

        Assert.Equal(TimeSpan.FromSeconds(60), error.RetryAfter);
        Assert.Equal(1, server.Calls);
    }

    [Fact]
    public async Task A_429_is_not_retried()
    {
        var limited = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        limited.Headers.RetryAfter = new(TimeSpan.FromSeconds(1));
        var server = new AnsweringHandler(limited, new HttpResponseMessage(HttpStatusCode.NoContent));
        var client = Client(server, new PresenceClientOptions());

        var error = await Assert.ThrowsAsync<PresenceRateLimitedException>(() => client.SignOffAsync(PresenceRole.Therapist, Ct));

        Assert.Equal(TimeSpan.FromSeconds(1), error.RetryAfter);
        Assert.Equal(1, server.Calls);
    }

    private static PresenceClient Client(HttpMessageHandler server, PresenceClientOptions options)
    {
        var handler = PresenceResilience.CreateHandler(options);
        handler.InnerHandler = server;
        return new PresenceClient(new HttpClient(handler) { BaseAddress = new Uri("http://presence.test/") }, options);
    }

    private static HttpResponseMessage Unavailable(TimeSpan retryAfter)
    {
        var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter = new(retryAfter);
        return response;
    }

    /// <summary>Answers the given responses in order (the last one again when they run out) and counts the calls.</summary>
    private sealed class AnsweringHandler(params HttpResponseMessage[] answers) : HttpMessageHandler
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var call = Interlocked.Increment(ref _calls);
            return Task.FromResult(answers[Math.Min(call, answers.Length) - 1]);
        }
    }
}

/// <summary>The highest <c>ver</c> per user wins on the .NET side too.</summary>
public sealed class PresenceVersionsTests
{
    [Fact]
    public void Older_and_repeated_versions_are_dropped_per_user_and_an_absent_ver_counts_as_zero()
    {
        var versions = new PresenceVersions();

        Assert.True(versions.Accept("therapist", "t-1", null));
        Assert.True(versions.Accept("therapist", "t-1", null));
        Assert.True(versions.Accept("therapist", "t-1", 2));
        Assert.False(versions.Accept("therapist", "t-1", 1));
        Assert.False(versions.Accept("therapist", "t-1", 2));
        Assert.False(versions.Accept("therapist", "t-1", null));
        Assert.True(versions.Accept("therapist", "t-1", 3));
        Assert.True(versions.Accept("community", "t-1", 1));
        Assert.True(versions.Accept("therapist", "t-2", 1));
        Assert.Equal(3, versions.Latest("therapist", "t-1"));
        Assert.Null(versions.Latest("therapist", "t-3"));
    }
}
