using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.RealtimeGateway.Limits;
using Presence.Core.Intervals;
using Presence.RealtimeGateway.Hubs;
using Presence.ServiceDefaults;

namespace Presence.RealtimeGateway.Connections;

/// <summary>
/// Heartbeats and joins of hub connections (docs/architecture.md, "Sessions"): a connection is one session of its user,
/// recorded and refreshed by the same one-round-trip store call as REST (transport <c>hub</c>); its close ends that
/// session only, and the user leaves after the leave grace when it was the last.
/// </summary>
internal sealed partial class HubSessions(
    PresenceStore store,
    GatewayInstance instance,
    IOptionsMonitor<PresenceOptions> presenceOptions,
    IOptionsMonitor<GatewayOptions> gatewayOptions,
    TimeProvider time,
    HeartbeatIntervalPolicy intervals,
    ILogger<HubSessions> logger)
{
    public ConnectionState NewConnection()
    {
        var o = gatewayOptions.CurrentValue;
        return new ConnectionState(new TokenBucket(o.HeartbeatBurst, o.HeartbeatTokenPeriod, time.GetUtcNow()));
    }

    public Task<HeartbeatAck> HeartbeatAsync(ConnectionState state, HubCallerContext context, HeartbeatMessage? message)
    {
        var (role, id) = RequireUser(context.User, "send heartbeats");
        if (message?.Available is not null && role != PresenceRole.Therapist)
        {
            throw new HubException("Only therapists have an availability flag.");
        }

        return BeatAsync(state, context, role, id, message?.Available, specialties: null, message?.Timestamp, PresenceReason.Heartbeat, message?.Visible);
    }

    public Task<HeartbeatAck> JoinAsTherapistAsync(ConnectionState state, HubCallerContext context, JoinTherapistRequest? request)
    {
        var (role, id) = RequireUser(context.User, "join as a therapist");
        if (role != PresenceRole.Therapist)
        {
            throw new HubException("Only a therapist token may join as a therapist; community users call joinAsUser.");
        }

        if (request is null || !string.Equals(request.TherapistId, id, StringComparison.Ordinal))
        {
            throw new HubException("therapistId must equal the token's subject.");
        }

        var specialties = presenceOptions.CurrentValue.ValidSpecialties(request.Specialties, out var error) ?? throw new HubException(error);
        return BeatAsync(state, context, role, id, request.Available, specialties, clientTime: null, PresenceReason.Join);
    }

    public Task<HeartbeatAck> JoinAsUserAsync(ConnectionState state, HubCallerContext context)
    {
        var (role, id) = RequireUser(context.User, "join");
        if (role != PresenceRole.Community)
        {
            throw new HubException("Therapists join with joinAsTherapist.");
        }

        return BeatAsync(state, context, role, id, available: null, specialties: null, clientTime: null, PresenceReason.Join);
    }

    /// <summary>The connection closed: its session ends; the user leaves after the leave grace when it was the last one.</summary>
    public async Task DisconnectedAsync(ConnectionState state, string connectionId)
    {
        if (state.JoinedRole is not { } role || state.JoinedUserId is not { } id)
        {
            return;
        }

        // Not the connection's token: that one is already cancelled. Bounded, so a Redis outage cannot hold shutdown.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var outcome = await store.CloseConnectionAsync(role, id, instance.Id, connectionId, cts.Token).ConfigureAwait(false);
            LogDisconnected(logger, role.Name(), id, outcome);
        }
        catch (Exception ex) when (ex is RedisUnavailableException or OperationCanceledException)
        {
            // The session expires after the stale-connection window (or with this instance's lease): the janitor ends it then.
            LogDisconnectFailed(logger, role.Name(), id, ex);
        }
    }

    private async Task<HeartbeatAck> BeatAsync(
        ConnectionState state, HubCallerContext context, PresenceRole role, string id, bool? available,
        IReadOnlyList<string>? specialties, DateTimeOffset? clientTime, string reason, bool? visible = null)
    {
        if (!state.Heartbeats.TryTake(time.GetUtcNow(), out var retryAfter))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            throw new HubException($"Too many heartbeats on this connection; retry after {seconds.ToString(CultureInfo.InvariantCulture)} s.");
        }

        var ct = context.ConnectionAborted;
        // Before the call: if the session lands but the answer is lost, the close must still end it.
        state.JoinedRole = role;
        state.JoinedUserId = id;

        var result = await store.HeartbeatAsync(
            new Heartbeat(role, id, HeartbeatTransport.Hub, available, specialties, SessionRef.Hub(instance.Id, context.ConnectionId), reason), ct)
            .ConfigureAwait(false);

        var o = presenceOptions.CurrentValue;
        var serverTime = result.ServerTime;
        return new HeartbeatAck
        {
            ServerTime = serverTime,
            NextHeartbeatSeconds = intervals.NextHeartbeatSeconds(role, id, visible),
            ClockSkewSeconds = o.ClockSkewSeconds(clientTime, serverTime),
        };
    }

    /// <summary>The caller's role and id, always from the token.</summary>
    public static (PresenceRole Role, string Id) RequireUser(ClaimsPrincipal? user, string action)
    {
        if (!user.TryGetUser(out var role, out var id))
        {
            throw new HubException($"Sign in to {action}: connect with a token (access_token) carrying a role and a valid sub.");
        }

        return (role.Value, id);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Hub connection of {Role} {UserId} closed: {Outcome}")]
    private static partial void LogDisconnected(ILogger logger, string role, string userId, SessionEndOutcome outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove the closed hub connection of {Role} {UserId}; it expires by itself")]
    private static partial void LogDisconnectFailed(ILogger logger, string role, string userId, Exception exception);
}
