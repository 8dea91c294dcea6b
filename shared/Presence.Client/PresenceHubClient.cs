using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Presence.Client;

/// <summary>
/// The realtime gateway's hub (docs/clients.md) over the official SignalR client, with jittered reconnects. What was
/// joined and watched is remembered and done again after every reconnect; each watch's snapshot is raised through
/// <see cref="SnapshotReceived"/> so a view can replace what it missed while disconnected. The highest <c>ver</c> seen
/// per user (from pushes and snapshots) is kept, and a push at or below it is dropped, never raised.
/// </summary>
public sealed partial class PresenceHubClient : IAsyncDisposable
{
    /// <summary>The message that acknowledges a heartbeat.</summary>
    public const string HeartbeatAckMethod = "heartbeat-ack";
    /// <summary>The message that carries one user's transition.</summary>
    public const string PresenceChangedMethod = "presence-changed";

    private readonly HubConnection _connection;
    private readonly PresenceHubClientOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly HashSet<string> _watched = new(StringComparer.Ordinal);
    private readonly HashSet<string> _watchedCommunity = new(StringComparer.Ordinal);
    private Func<Task>? _rejoin;
    private bool _watchingAllTherapists;

    /// <summary>A client of the hub at <paramref name="hubUrl"/>; call <see cref="StartAsync"/> to connect.</summary>
    public PresenceHubClient(Uri hubUrl, PresenceHubClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(hubUrl);
        _options = options ?? new PresenceHubClientOptions();
        _logger = _options.LoggerFactory?.CreateLogger<PresenceHubClient>() ?? NullLogger<PresenceHubClient>.Instance;
        var builder = new HubConnectionBuilder()
            .WithUrl(hubUrl, http =>
            {
                if (_options.AccessTokenProvider is { } tokens)
                {
                    http.AccessTokenProvider = () => tokens(CancellationToken.None).AsTask();
                }

                _options.ConfigureHttpConnection?.Invoke(http);
            })
            .WithAutomaticReconnect(_options.RetryPolicy);
        if (_options.LoggerFactory is { } loggers)
        {
            builder.Services.AddSingleton(loggers);
        }

        _connection = builder.Build();
        _connection.On<PresenceChange>(PresenceChangedMethod, change =>
        {
            if (Versions.Accept(change.Role, change.Id, change.Ver))
            {
                PresenceChanged?.Invoke(change);
            }
            else
            {
                LogStaleDropped(_logger, change.Id, change.Ver, VersionOf(change.Role, change.Id));
            }
        });
        _connection.Reconnecting += error =>
        {
            LogReconnecting(_logger, error?.Message);
            Reconnecting?.Invoke(error);
            return Task.CompletedTask;
        };
        _connection.Reconnected += OnReconnectedAsync;
        _connection.Closed += error =>
        {
            Closed?.Invoke(error);
            return Task.CompletedTask;
        };
    }

    /// <summary>The highest <c>ver</c> per user seen on this connection (pushes and snapshots); older pushes are not raised.</summary>
    public PresenceVersions Versions { get; } = new();

    /// <summary>The highest version seen of a user (0 when none): pushes at or below it are dropped.</summary>
    public long VersionOf(string role, string id) => Versions.Latest(role, id) ?? 0;

    /// <summary>Raises a snapshot after remembering its versions, so a push older than it is dropped.</summary>
    private void RaiseSnapshot(PresenceSnapshot snapshot)
    {
        foreach (var entry in snapshot.Entries)
        {
            if (entry.Role is { } role && entry.Ver > VersionOf(role, entry.Id))
            {
                Versions.Accept(role, entry.Id, entry.Ver);
            }
        }

        SnapshotReceived?.Invoke(snapshot);
    }

    /// <summary>A pushed state event of a watched user, newer than any seen before for that user.</summary>
    public event Action<PresenceChange>? PresenceChanged;

    /// <summary>The current statuses answered by a watch, the first time and after every reconnect.</summary>
    public event Action<PresenceSnapshot>? SnapshotReceived;

    /// <summary>The connection was lost and is being re-established.</summary>
    public event Action<Exception?>? Reconnecting;

    /// <summary>Raised once joins and watches were restored on the new connection.</summary>
    public event Action? Reconnected;

    /// <summary>The connection ended for good (stopped, or the retry policy gave up).</summary>
    public event Action<Exception?>? Closed;

    /// <summary>The connection's state.</summary>
    public HubConnectionState State => _connection.State;

    /// <summary>True while connected.</summary>
    public bool IsConnected => _connection.State == HubConnectionState.Connected;

    /// <summary>Connects, retrying with the retry policy's delays until connected or cancelled.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var started = DateTime.UtcNow;
        for (var attempt = 0L; ; attempt++)
        {
            try
            {
                await _connection.StartAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var delay = _options.RetryPolicy.NextRetryDelay(new RetryContext
                {
                    PreviousRetryCount = attempt,
                    ElapsedTime = DateTime.UtcNow - started,
                    RetryReason = ex,
                });
                if (delay is null)
                {
                    throw;
                }

                LogConnectFailed(_logger, ex.Message, delay.Value.TotalMilliseconds);
                await Task.Delay(delay.Value, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Disconnects (no reconnect follows).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _connection.StopAsync(cancellationToken);

    /// <summary>A hub heartbeat; the gateway answers with the next interval.</summary>
    public Task<HeartbeatAck> HeartbeatAsync(HeartbeatRequest? request = null, CancellationToken cancellationToken = default) =>
        _connection.InvokeAsync<HeartbeatAck>("heartbeat", request ?? new HeartbeatRequest(), cancellationToken);

    /// <summary>Joins as the token's therapist (<paramref name="therapistId"/> must be its <c>sub</c>); repeated after reconnects.</summary>
    public async Task<HeartbeatAck> JoinAsTherapistAsync(string therapistId, IReadOnlyList<string>? specialties = null, bool? available = null,
        CancellationToken cancellationToken = default)
    {
        var body = new JoinTherapistBody { TherapistId = therapistId, Specialties = specialties ?? [], Available = available };
        var ack = await _connection.InvokeAsync<HeartbeatAck>("joinAsTherapist", body, cancellationToken).ConfigureAwait(false);
        // After a reconnect the flag is not sent again: it may have been changed elsewhere since.
        var rejoinBody = body with { Available = null };
        _rejoin = () => _connection.InvokeAsync<HeartbeatAck>("joinAsTherapist", rejoinBody);
        return ack;
    }

    /// <summary>Joins as the token's community user; repeated after reconnects.</summary>
    public async Task<HeartbeatAck> JoinAsUserAsync(CancellationToken cancellationToken = default)
    {
        var ack = await _connection.InvokeAsync<HeartbeatAck>("joinAsUser", cancellationToken).ConfigureAwait(false);
        _rejoin = () => _connection.InvokeAsync<HeartbeatAck>("joinAsUser");
        return ack;
    }

    /// <summary>Every therapist's transitions (anonymous allowed).</summary>
    public async Task<PresenceSnapshot> WatchTherapistsAsync(CancellationToken cancellationToken = default)
    {
        var snapshot = await _connection.InvokeAsync<PresenceSnapshot>("watchTherapists", cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _watchingAllTherapists = true;
        }

        RaiseSnapshot(snapshot);
        return snapshot;
    }

    /// <summary>These therapists' transitions.</summary>
    public Task<PresenceSnapshot> WatchAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default) =>
        WatchIdsAsync("watch", _watched, ids, cancellationToken);

    /// <summary>Stops watching these therapists.</summary>
    public async Task UnwatchAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _watched.ExceptWith(ids);
        }

        await _connection.InvokeAsync("unwatch", ids.ToArray(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>These community users' transitions (therapists, or a community user watching itself).</summary>
    public Task<PresenceSnapshot> WatchCommunityAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default) =>
        WatchIdsAsync("watchCommunity", _watchedCommunity, ids, cancellationToken);

    /// <summary>Invokes a watch method and remembers <paramref name="ids"/> in <paramref name="watched"/>, to watch them again after a reconnect.</summary>
    private async Task<PresenceSnapshot> WatchIdsAsync(string method, HashSet<string> watched, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var snapshot = await _connection.InvokeAsync<PresenceSnapshot>(method, ids.ToArray(), cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            watched.UnionWith(ids);
        }

        RaiseSnapshot(snapshot);
        return snapshot;
    }

    /// <summary>Disconnects and releases the connection.</summary>
    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    private async Task OnReconnectedAsync(string? connectionId)
    {
        LogReconnected(_logger, connectionId);
        try
        {
            if (_rejoin is { } rejoin)
            {
                await rejoin().ConfigureAwait(false);
            }

            bool all;
            string[] ids, community;
            lock (_gate)
            {
                all = _watchingAllTherapists;
                ids = [.. _watched];
                community = [.. _watchedCommunity];
            }

            if (all)
            {
                RaiseSnapshot(await _connection.InvokeAsync<PresenceSnapshot>("watchTherapists").ConfigureAwait(false));
            }

            if (ids.Length > 0)
            {
                RaiseSnapshot(await _connection.InvokeAsync<PresenceSnapshot>("watch", ids).ConfigureAwait(false));
            }

            if (community.Length > 0)
            {
                RaiseSnapshot(await _connection.InvokeAsync<PresenceSnapshot>("watchCommunity", community).ConfigureAwait(false));
            }
        }
        catch (Exception ex) when (ex is HubException or InvalidOperationException)
        {
            // The connection dropped again or the gateway refused (a Redis outage); the next reconnect tries again.
            LogRestoreFailed(_logger, ex.Message);
            return;
        }

        Reconnected?.Invoke();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Presence hub connection lost ({Reason}); reconnecting")]
    private static partial void LogReconnecting(ILogger logger, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Presence hub reconnected as {ConnectionId}; joins and watches restored")]
    private static partial void LogReconnected(ILogger logger, string? connectionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence hub connect failed ({Reason}); retrying in {DelayMs} ms")]
    private static partial void LogConnectFailed(ILogger logger, string reason, double delayMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Presence hub: dropped a push of {UserId} at version {Ver}, not newer than {Known}")]
    private static partial void LogStaleDropped(ILogger logger, string userId, long ver, long known);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence hub: restoring joins and watches failed ({Reason})")]
    private static partial void LogRestoreFailed(ILogger logger, string reason);
}
