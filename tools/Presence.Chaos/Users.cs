using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Presence.Testing;

namespace Presence.Chaos;

/// <summary>One answer a simulated user got: when, over which channel, whether it counted as success, and how long it took.</summary>
internal readonly record struct Outcome(DateTimeOffset At, bool Hub, bool Ok, int Status, double Seconds);

/// <summary>Every answer of the run, for the 500 / slow / recovery figures.</summary>
internal sealed class Journal
{
    public ConcurrentQueue<Outcome> Outcomes { get; } = new();

    public void Add(bool hub, bool ok, int status, Stopwatch watch) =>
        Outcomes.Enqueue(new Outcome(DateTimeOffset.UtcNow, hub, ok, status, watch.Elapsed.TotalSeconds));
}

/// <summary>One device (REST session or hub connection) as its user saw it: the acks it got and when it ended.</summary>
internal sealed class DeviceView(bool hub)
{
    public bool Hub { get; } = hub;

    public List<DateTimeOffset> Acks { get; } = [];

    public DateTimeOffset? Ended { get; set; }
}

/// <summary>A simulated user: its role, its devices' view, and when (if ever) it stopped for good.</summary>
internal sealed class SimUser(string id, bool therapist, bool hub, DateTimeOffset? stopAt)
{
    public string Id { get; } = id;

    public bool Therapist { get; } = therapist;

    public bool UsesHub { get; } = hub;

    public DateTimeOffset? StopAt { get; } = stopAt;

    public DateTimeOffset? StoppedAt { get; set; }

    public List<DeviceView> Devices { get; } = [];

    public Lock Gate { get; } = new();

    public string Role => Therapist ? "therapist" : "community";

    public bool EverAcked
    {
        get
        {
            lock (Gate)
            {
                return Devices.Exists(d => d.Acks.Count > 0);
            }
        }
    }

    public DeviceView NewDevice(bool hub)
    {
        var device = new DeviceView(hub);
        lock (Gate)
        {
            Devices.Add(device);
        }

        return device;
    }

    public void Ack(DeviceView device)
    {
        lock (Gate)
        {
            device.Acks.Add(DateTimeOffset.UtcNow);
        }
    }

    public void End(DeviceView device)
    {
        lock (Gate)
        {
            device.Ended ??= DateTimeOffset.UtcNow;
        }
    }
}

/// <summary>Drives the simulated users: REST users beat per device over HTTP, hub users hold one connection per device.</summary>
internal sealed class Driver(Settings settings, Journal journal, string apiUrl, string[] hubUrls)
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
    {
        BaseAddress = new Uri(apiUrl),
        Timeout = TimeSpan.FromSeconds(10),
    };

    public async Task RunAsync(SimUser user, DateTimeOffset loadEnd, CancellationToken ct)
    {
        var token = DevTokens.Mint(user.Role, user.Id, lifetime: TimeSpan.FromHours(2));
        var until = user.StopAt is { } stop && stop < loadEnd ? stop : loadEnd;
        try
        {
            if (user.UsesHub)
            {
                await RunHubAsync(user, token, until, ct);
            }
            else
            {
                await RunRestAsync(user, token, until, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }

        if (user.StopAt is { } s && s < loadEnd)
        {
            user.StoppedAt = DateTimeOffset.UtcNow;
        }
    }

    private async Task RunRestAsync(SimUser user, string token, DateTimeOffset until, CancellationToken ct)
    {
        var segment = user.Therapist ? "therapists" : "community";
        var devices = new List<(string Name, DeviceView View)>();
        var next = 0;
        (string, DeviceView) NewDevice() => ($"d{next++}", user.NewDevice(hub: false));
        devices.Add(NewDevice());
        devices.Add(NewDevice());
        while (DateTimeOffset.UtcNow < until && !ct.IsCancellationRequested)
        {
            var roll = Random.Shared.NextDouble();
            (string Name, DeviceView View)? retired = null;
            if (roll < 0.05)
            {
                // A reload: the page signs the device off and the new page beats again inside the leave grace.
                var (name, view) = devices[0];
                await SignOffAsync(token, segment, name, ct);
                user.End(view);
                devices[0] = (name, user.NewDevice(hub: false));
                await Task.Delay(TimeSpan.FromMilliseconds(300 + Random.Shared.Next(700)), ct);
            }
            else if (roll < 0.08)
            {
                // A device switch: the new device beats first, then the old one signs off.
                retired = devices[0];
                devices[0] = NewDevice();
            }

            foreach (var (name, view) in devices)
            {
                await BeatAsync(user, token, segment, name, view, ct);
            }

            if (retired is { } old)
            {
                await SignOffAsync(token, segment, old.Name, ct);
                user.End(old.View);
            }

            await Task.Delay(settings.HeartbeatInterval + TimeSpan.FromMilliseconds(Random.Shared.Next(500)), ct);
        }

        // Stopping: half the users sign off every device, the other half just go quiet.
        var signOff = Random.Shared.Next(2) == 0;
        foreach (var (name, view) in devices)
        {
            if (signOff && user.StopAt is not null)
            {
                await SignOffAsync(token, segment, name, CancellationToken.None);
                user.End(view);
            }
        }
    }

    private async Task BeatAsync(SimUser user, string token, string segment, string device, DeviceView view, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/{segment}/heartbeat") { Content = JsonContent.Create(new { deviceId = device }) };
            request.Headers.Authorization = new("Bearer", token);
            using var response = await _http.SendAsync(request, ct);
            var ok = response.StatusCode == HttpStatusCode.OK;
            if (ok)
            {
                user.Ack(view);
            }

            journal.Add(hub: false, ok || response.StatusCode == HttpStatusCode.TooManyRequests, (int)response.StatusCode, watch);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            journal.Add(hub: false, ok: false, status: -1, watch);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            // Refused or reset connection (a killed heartbeat-api): no answer.
            journal.Add(hub: false, ok: false, status: 0, watch);
        }
    }

    private async Task SignOffAsync(string token, string segment, string device, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/{segment}/offline") { Content = JsonContent.Create(new { deviceId = device }) };
            request.Headers.Authorization = new("Bearer", token);
            using var response = await _http.SendAsync(request, ct);
            journal.Add(hub: false, response.IsSuccessStatusCode, (int)response.StatusCode, watch);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            journal.Add(hub: false, ok: false, status: -1, watch);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            // Refused or reset connection (a killed heartbeat-api): no answer.
            journal.Add(hub: false, ok: false, status: 0, watch);
        }
    }

    private sealed class HubDevice
    {
        public HubConnection? Connection { get; set; }

        public DeviceView? View { get; set; }

        public int Gateway { get; set; }
    }

    private async Task RunHubAsync(SimUser user, string token, DateTimeOffset until, CancellationToken ct)
    {
        var devices = new[] { new HubDevice { Gateway = 0 }, new HubDevice { Gateway = 1 } };
        try
        {
            while (DateTimeOffset.UtcNow < until && !ct.IsCancellationRequested)
            {
                foreach (var device in devices)
                {
                    if (device.Connection is null || device.Connection.State != HubConnectionState.Connected)
                    {
                        await ConnectAsync(user, token, device, ct);
                    }
                    else if (!await InvokeAsync(user, device, "Heartbeat", ct))
                    {
                        await DropAsync(user, device);
                        device.Gateway = 1 - device.Gateway;
                    }
                }

                var roll = Random.Shared.NextDouble();
                var target = devices[Random.Shared.Next(devices.Length)];
                if (roll < 0.05)
                {
                    // A reload: the old page's connection closes, the new page connects and joins inside the leave grace.
                    await DropAsync(user, target);
                    await ConnectAsync(user, token, target, ct);
                }
                else if (roll < 0.08)
                {
                    // A network drop: the connection goes away without a sign-off, the client reconnects a moment later.
                    await DropAsync(user, target);
                    await Task.Delay(TimeSpan.FromMilliseconds(200 + Random.Shared.Next(1300)), ct);
                    await ConnectAsync(user, token, target, ct);
                }
                else if (roll < 0.10)
                {
                    // A device switch: the new device joins first, then the old one closes.
                    var fresh = new HubDevice { Gateway = 1 - target.Gateway };
                    await ConnectAsync(user, token, fresh, ct);
                    await DropAsync(user, target);
                    target.Connection = fresh.Connection;
                    target.View = fresh.View;
                    target.Gateway = fresh.Gateway;
                }

                await Task.Delay(settings.HeartbeatInterval + TimeSpan.FromMilliseconds(Random.Shared.Next(500)), ct);
            }
        }
        finally
        {
            foreach (var device in devices)
            {
                await DropAsync(user, device);
            }
        }
    }

    private async Task ConnectAsync(SimUser user, string token, HubDevice device, CancellationToken ct)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(hubUrls[device.Gateway], o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        connection.ServerTimeout = TimeSpan.FromSeconds(30);
        var view = user.NewDevice(hub: true);
        var watch = Stopwatch.StartNew();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await connection.StartAsync(timeout.Token);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            journal.Add(hub: true, ok: false, status: 0, watch);
            user.End(view);
            await connection.DisposeAsync();
            device.Gateway = 1 - device.Gateway;
            device.Connection = null;
            return;
        }

        device.Connection = connection;
        device.View = view;
        connection.Closed += _ =>
        {
            user.End(view);
            return Task.CompletedTask;
        };
        if (!await InvokeAsync(user, device, user.Therapist ? "JoinAsTherapist" : "JoinAsUser", ct))
        {
            await DropAsync(user, device);
        }
    }

    private async Task<bool> InvokeAsync(SimUser user, HubDevice device, string method, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var connection = device.Connection!;
            _ = method switch
            {
                "JoinAsTherapist" => await connection.InvokeAsync<object>(method, new { therapistId = user.Id }, timeout.Token),
                "JoinAsUser" => await connection.InvokeAsync<object>(method, timeout.Token),
                _ => await connection.InvokeAsync<object>(method, new { }, timeout.Token),
            };
            user.Ack(device.View!);
            journal.Add(hub: true, ok: true, status: 200, watch);
            return true;
        }
        catch (HubException ex)
        {
            // The gateway answers a Redis outage with "Presence store unavailable" (the hub's 503) and any other failure
            // with "could not handle" (the hub's 500); a bare "unexpected error" means an exception escaped its filter.
            var status = ex.Message.Contains("unavailable", StringComparison.OrdinalIgnoreCase) ? 503
                : ex.Message.Contains("could not handle", StringComparison.OrdinalIgnoreCase) || !ex.Message.Contains("HubException", StringComparison.Ordinal) ? 500
                : 429;
            journal.Add(hub: true, ok: false, status, watch);
            return false;
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            // The connection broke under the call (a killed gateway, a reset socket): a failed call, reconnected next round.
            journal.Add(hub: true, ok: false, status: 0, watch);
            return false;
        }
    }

    private static async Task DropAsync(SimUser user, HubDevice device)
    {
        if (device.View is { } view)
        {
            user.End(view);
        }

        if (device.Connection is { } connection)
        {
            device.Connection = null;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await connection.StopAsync(timeout.Token);
            }
            catch (Exception)
            {
                // Closing a connection that already broke: nothing to do.
            }

            await connection.DisposeAsync();
        }
    }
}
