using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR;

namespace Presence.Client.Tests;

/// <summary>
/// <see cref="PresenceHubClient"/> keeps the highest version per user. The real gateway never pushes an older version
/// itself, so a stand-in hub on Kestrel sends them out of order, as two gateways racing could.
/// </summary>
public sealed class StaleVersionTests
{
    [Fact]
    public async Task Pushes_not_newer_than_a_seen_version_or_the_snapshot_are_dropped()
    {
        await using var server = await OutOfOrderHub.StartAsync();
        await using var hub = new PresenceHubClient(new Uri(server.Url + "/hubs/presence"));
        var pushes = new ConcurrentQueue<PresenceChange>();
        hub.PresenceChanged += pushes.Enqueue;
        await hub.StartAsync(Ct);

        var snapshot = await hub.WatchTherapistsAsync(Ct);
        Assert.Equal(10, hub.VersionOf("therapist", "t-1"));

        await server.PushAsync("t-1", 9, "offline", Ct);   // older than the snapshot
        await server.PushAsync("t-1", 12, "recent", Ct);
        await server.PushAsync("t-1", 11, "online", Ct);   // a reclaimed, older push
        await server.PushAsync("t-1", 12, "recent", Ct);   // a duplicate
        await server.PushAsync("t-2", 1, "online", Ct);    // the sentinel: sent last, so the others have arrived
        await Poll.UntilAsync(() => Task.FromResult(pushes.Any(p => p.Id == "t-2")), "sentinel push", timeout: TimeSpan.FromSeconds(15));

        Assert.Equal("online", Assert.Single(snapshot.Entries).Status);
        Assert.Equal([12L], pushes.Where(p => p.Id == "t-1").Select(p => p.Ver));
        Assert.Equal(("recent", "signoff"), (pushes.First().Status, pushes.First().Reason));
        Assert.Equal(12, hub.VersionOf("therapist", "t-1"));
    }

    private sealed class OutOfOrderHub(WebApplication app) : IAsyncDisposable
    {
        public string Url => app.Urls.First();

        public static async Task<OutOfOrderHub> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Services.AddSignalR();
            var app = builder.Build();
            app.MapHub<StandInHub>("/hubs/presence");
            await app.StartAsync();
            return new OutOfOrderHub(app);
        }

        public Task PushAsync(string id, long ver, string status, CancellationToken ct) =>
            app.Services.GetRequiredService<IHubContext<StandInHub>>().Clients.Group(StandInHub.Therapists).SendAsync("presence-changed",
                new { role = "therapist", id, ver, at = DateTimeOffset.UtcNow, status, available = false, reason = status == "recent" ? "signoff" : "heartbeat" }, ct);

        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }

    private sealed class StandInHub : Hub
    {
        public const string Therapists = "therapists";

        public async Task<object> WatchTherapists()
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, Therapists);
            return new
            {
                generatedAt = DateTimeOffset.UtcNow,
                entries = new[] { new { role = "therapist", id = "t-1", status = "online", available = false, ver = 10L } },
            };
        }
    }
}
