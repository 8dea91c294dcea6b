using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Presence.RealtimeGateway.Limits;
using Presence.RealtimeGateway.Watching;

namespace Presence.RealtimeGateway.Tests;

/// <summary>What one client may cost the gateway: watch calls per connection, board reads, connections per user and address, message size.</summary>
public sealed class HubLimitsTests(RedisServer redis)
{
    [Fact]
    public async Task Watch_calls_beyond_the_burst_are_refused_with_the_retry_delay_and_the_connection_stays_open()
    {
        await using var gateway = new GatewayFactory(redis, settings: new Dictionary<string, string?>
        {
            ["Gateway:Limits:WatchBurst"] = "3",
            ["Gateway:Limits:WatchTokenPeriod"] = "00:00:02",
        });
        await using var watcher = await gateway.ConnectAsync(token: null);

        await watcher.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-1" }, Ct);
        await watcher.InvokeAsync("unwatch", new[] { "t-1" }, Ct);
        await watcher.InvokeAsync<PresenceSnapshot>("watchTherapists", Ct);
        var refused = await Assert.ThrowsAsync<HubException>(() => watcher.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-2" }, Ct));

        Assert.Contains("Too many watch calls on this connection ('watch'): at most 3 in a burst, then one every 2 s; retry after 2 s.", refused.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, watcher.State);
        await Assert.ThrowsAsync<HubException>(() => watcher.InvokeAsync("unwatchTherapists", Ct));
        gateway.Time.Advance(TimeSpan.FromSeconds(2));
        await watcher.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-2" }, Ct);
        await Assert.ThrowsAsync<HubException>(() => watcher.InvokeAsync("unwatch", new[] { "t-2" }, Ct));
    }

    [Fact]
    public async Task WatchTherapists_calls_of_many_connections_share_board_reads()
    {
        await using var gateway = new GatewayFactory(redis, settings: new Dictionary<string, string?>
        {
            // Wide enough that every call below arrives before the next read may start.
            ["Gateway:Limits:BoardReadInterval"] = "00:00:03",
        });
        await gateway.Store.HeartbeatAsync(new Heartbeat(PresenceRole.Therapist, "t-board", HeartbeatTransport.Rest), Ct);
        var watchers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => gateway.ConnectAsync(token: null)));
        try
        {
            var board = gateway.Services.GetRequiredService<SharedBoard>();
            var first = await watchers[0].InvokeAsync<PresenceSnapshot>("watchTherapists", Ct);
            Assert.Equal(1, board.Reads);

            var rest = await Task.WhenAll(watchers.Skip(1).Select(w => w.InvokeAsync<PresenceSnapshot>("watchTherapists", Ct)));

            Assert.Equal(2, board.Reads);
            Assert.All(rest.Prepend(first), s => Assert.Contains(s.Entries, e => e.Id == "t-board" && e.Status == "online"));
            Assert.All(rest, s => Assert.True(s.GeneratedAt >= first.GeneratedAt));
        }
        finally
        {
            await Task.WhenAll(watchers.Select(w => w.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task A_user_over_the_connection_cap_is_refused_with_a_clear_error_until_one_closes()
    {
        await using var gateway = new GatewayFactory(redis, settings: new Dictionary<string, string?>
        {
            ["Gateway:Limits:MaxConnectionsPerUser"] = "2",
        });
        var token = DevTokens.Community("c-capped");
        await using var first = await gateway.ConnectAsync(token);
        await using var second = await gateway.ConnectAsync(token);
        await using var other = await gateway.ConnectAsync(DevTokens.Community("c-other"));
        // A connection takes its place in OnConnectedAsync, after the handshake StartAsync waits for; an answered call
        // proves it ran.
        await Task.WhenAll(first.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-1" }, Ct), second.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-1" }, Ct));

        var third = gateway.CreateHub(token);
        var closed = ClosedWith(third);
        await third.StartAsync(Ct);

        var error = await closed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Contains("Too many connections for this user: at most 2 at once", error?.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, first.State);
        await other.InvokeAsync<HeartbeatAck>("joinAsUser", Ct);

        await first.StopAsync(Ct);
        await Poll.UntilAsync(async () =>
        {
            var again = gateway.CreateHub(token);
            var refusedAgain = ClosedWith(again);
            await again.StartAsync(Ct);
            // The sentinel, not a sleep: an answered call means OnConnectedAsync let the connection in; a refusal
            // closes it before any call is answered.
            bool accepted;
            try
            {
                await again.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-1" }, Ct);
                accepted = true;
            }
            catch (Exception) when (!Ct.IsCancellationRequested)
            {
                await refusedAgain.WaitAsync(TimeSpan.FromSeconds(10), Ct);
                accepted = false;
            }

            await again.DisposeAsync();
            return accepted;
        }, () => "a connection was still refused after one of the user's closed");
    }

    [Fact]
    public async Task An_address_over_the_connection_cap_is_refused_and_other_addresses_are_not()
    {
        await using var gateway = new GatewayFactory(redis, settings: new Dictionary<string, string?>
        {
            ["Gateway:Limits:MaxConnectionsPerAddress"] = "2",
            // As behind the ingress: the client address comes from X-Forwarded-For.
            ["FORWARDEDHEADERS_ENABLED"] = "true",
        });
        await using var a1 = await StartAsync(gateway, HttpTransportType.LongPolling, "203.0.113.7");
        await using var a2 = await StartAsync(gateway, HttpTransportType.LongPolling, "203.0.113.7");
        await using var b1 = await StartAsync(gateway, HttpTransportType.LongPolling, "198.51.100.9");
        // Each has taken its place (in OnConnectedAsync, after the handshake) once a call of it was answered.
        await Task.WhenAll(new[] { a1, a2, b1 }.Select(h => h.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-1" }, Ct)));

        // Negotiating (the fallback transports and the JS client do) is answered 429 already.
        await using var a3 = Hub(gateway, HttpTransportType.LongPolling, address: "203.0.113.7");
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => a3.StartAsync(Ct));
        Assert.Equal(System.Net.HttpStatusCode.TooManyRequests, refused.StatusCode);
        using var http = gateway.CreateClient();
        using var negotiate = new HttpRequestMessage(HttpMethod.Post, "/hubs/presence/negotiate?negotiateVersion=1");
        negotiate.Headers.Add("X-Forwarded-For", "203.0.113.7");
        var problem = await http.SendAsync(negotiate, Ct);
        await problem.ProblemAsync(System.Net.HttpStatusCode.TooManyRequests);
        Assert.Contains("Too many connections from this address: at most 2 at once", await problem.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(10), problem.Headers.RetryAfter?.Delta);

        await b1.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-2" }, Ct);
        await a1.InvokeAsync<PresenceSnapshot>("watch", new[] { "t-2" }, Ct);
    }

    [Theory]
    [InlineData(HttpTransportType.LongPolling)]
    [InlineData(HttpTransportType.ServerSentEvents)]
    public async Task Hub_messages_over_the_fallback_transports_are_not_held_to_the_REST_body_limit_but_to_the_hub_message_limit(HttpTransportType transport)
    {
        await using var gateway = new GatewayFactory(redis, settings: new Dictionary<string, string?>
        {
            ["Gateway:MaximumReceiveMessageSize"] = "16384",
        });
        await using var watcher = await StartAsync(gateway, transport);
        // 150 ids of 40 characters: a ~6.5 KB message, over the REST services' 4 KiB body limit.
        var ids = Enumerable.Range(0, 150).Select(i => $"therapist-{i:D4}-" + new string('x', 25)).ToArray();

        var snapshot = await watcher.InvokeAsync<PresenceSnapshot>("watch", ids, Ct);

        Assert.Equal(150, snapshot.Entries.Count);
        var closed = ClosedWith(watcher);
        var tooBig = Enumerable.Range(0, 500).Select(i => $"therapist-{i:D4}-" + new string('x', 25)).ToArray();
        _ = watcher.InvokeAsync<PresenceSnapshot>("watch", tooBig, Ct);
        await closed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(HubConnectionState.Disconnected, watcher.State);
    }

    [Fact]
    public void Limits_are_validated_at_start()
    {
        var validator = new HubLimitsOptionsValidator();
        Assert.True(validator.Validate(null, new HubLimitsOptions()).Succeeded);
        var bad = validator.Validate(null, new HubLimitsOptions
        {
            WatchBurst = 0,
            WatchTokenPeriod = TimeSpan.Zero,
            MaxConnectionsPerAddress = 0,
            BoardReadInterval = TimeSpan.FromSeconds(10),
        });

        Assert.True(bad.Failed);
        Assert.Collection(bad.Failures!,
            f => Assert.StartsWith("Gateway:Limits:WatchBurst, MaxConnectionsPerUser and MaxConnectionsPerAddress ", f, StringComparison.Ordinal),
            f => Assert.StartsWith("Gateway:Limits:WatchTokenPeriod ", f, StringComparison.Ordinal),
            f => Assert.StartsWith("Gateway:Limits:BoardReadInterval ", f, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_gateway_with_invalid_limits_does_not_start()
    {
        await using var gateway = new GatewayFactory(redis, settings: new Dictionary<string, string?>
        {
            ["Gateway:Limits:MaxConnectionsPerUser"] = "0",
        });

        var refused = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => gateway.Services);
        Assert.Contains("MaxConnectionsPerUser", refused.Message, StringComparison.Ordinal);
    }

    private static Task<Exception?> ClosedWith(HubConnection hub)
    {
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        return closed.Task;
    }

    private static async Task<HubConnection> StartAsync(GatewayFactory gateway, HttpTransportType transport, string? address = null)
    {
        var hub = Hub(gateway, transport, address);
        await hub.StartAsync(Ct);
        return hub;
    }

    /// <summary>A real SignalR client over one of the fallback transports (negotiate included), to the in-memory server.</summary>
    private static HubConnection Hub(GatewayFactory gateway, HttpTransportType transport, string? address = null)
    {
        var server = gateway.Server;
        return new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "/hubs/presence"), transport, o =>
            {
                o.HttpMessageHandlerFactory = _ => server.CreateHandler();
                if (address is not null)
                {
                    o.Headers["X-Forwarded-For"] = address;
                }
            })
            .Build();
    }
}
