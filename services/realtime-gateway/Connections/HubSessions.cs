using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Core.Intervals;
using Presence.RealtimeGateway.Hubs;
using Presence.ServiceDefaults;

namespace Presence.RealtimeGateway.Connections;

/// <summary>
/// Heartbeats and joins of hub connections: the same store call as REST (transport <c>hub</c>) plus the
/// connection record in Redis, and the user's sign-off when the last connection closes.
/// </summary>
internal sealed partial class HubSessions(
    PresenceStore store,
    ConnectionStore connections,
    GatewayInstance instance,
    IOptionsMonitor<PresenceOptions> presenceOptions,
    IOptionsMonitor<GatewayOptions> gatewayOptions,
    TimeProvider time,
    HeartbeatIntervalPolicy intervals,
    ILogger<HubSessions> logger)
{
    private const string SpecialtiesField = "specialties";

    public ConnectionState NewConnection()
    {
        var o = gatewayOptions.CurrentValue;
        return new ConnectionState(new HeartbeatBucket(o.HeartbeatBurst, o.HeartbeatTokenPeriod, time.GetUtcNow()));
    }

    public Task<HeartbeatAck> HeartbeatAsync(ConnectionState state, HubCallerContext context, HeartbeatMessage? message)
    {
        var (role, id) = RequireUser(context.User, "send heartbeats");
        if (message?.Available is not null && role != Role.Therapist)
        {
            throw new HubException("Only therapists have an availability flag.");
        }

        return BeatAsync(state, context, role, id, message?.Available, metadata: null, message?.Timestamp, message?.Visible);
    }

    public Task<HeartbeatAck> JoinAsTherapistAsync(ConnectionState state, HubCallerContext context, JoinTherapistRequest? request)
    {
        var (role, id) = RequireUser(context.User, "join as a therapist");
        if (role != Role.Therapist)
        {
            throw new HubException("Only a therapist token may join as a therapist; community users call joinAsUser.");
        }

        if (request is null || !string.Equals(request.TherapistId, id, StringComparison.Ordinal))
        {
            throw new HubException("therapistId must equal the token's subject.");
        }

        var specialties = ValidSpecialties(request.Specialties);
        KeyValuePair<string, string>[] metadata = [new(SpecialtiesField, string.Join(',', specialties))];
        return BeatAsync(state, context, role, id, request.Available, metadata, clientTime: null);
    }

    public Task<HeartbeatAck> JoinAsUserAsync(ConnectionState state, HubCallerContext context)
    {
        var (role, id) = RequireUser(context.User, "join");
        if (role != Role.Community)
        {
            throw new HubException("Therapists join with joinAsTherapist.");
        }

        return BeatAsync(state, context, role, id, available: null, metadata: null, clientTime: null);
    }

    /// <summary>The connection closed: forget it, and sign the user off when it was the last one.</summary>
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
            var outcome = await connections.DisconnectAsync(role, id, instance.Id, connectionId, cts.Token).ConfigureAwait(false);
            LogDisconnected(logger, role.Name(), id, outcome);
        }
        catch (Exception ex) when (ex is RedisUnavailableException or OperationCanceledException)
        {
            // The record expires after the stale-connection window (or with this instance's lease): the janitor signs off then.
            LogDisconnectFailed(logger, role.Name(), id, ex);
        }
    }

    private async Task<HeartbeatAck> BeatAsync(
        ConnectionState state, HubCallerContext context, Role role, string id, bool? available,
        IReadOnlyList<KeyValuePair<string, string>>? metadata, DateTimeOffset? clientTime, bool? visible = null)
    {
        if (!state.Heartbeats.TryTake(time.GetUtcNow(), out var retryAfter))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            throw new HubException($"Too many heartbeats on this connection; retry after {seconds.ToString(CultureInfo.InvariantCulture)} s.");
        }

        var ct = context.ConnectionAborted;
        // Before the calls: if only the connection record lands, the close must still remove it.
        state.JoinedRole = role;
        state.JoinedUserId = id;

        // Issued together: two round trips pipelined on the one multiplexer.
        var beat = store.HeartbeatAsync(new Heartbeat(role, id, HeartbeatTransport.Hub, available, metadata), ct);
        var record = connections.ConnectAsync(role, id, instance.Id, context.ConnectionId, ct);
        await Task.WhenAll(beat, record).ConfigureAwait(false);

        var o = presenceOptions.CurrentValue;
        var serverTime = (await beat.ConfigureAwait(false)).ServerTime;
        return new HeartbeatAck
        {
            ServerTime = serverTime,
            NextHeartbeatSeconds = intervals.NextHeartbeatSeconds(role, id, visible),
            ClockSkewSeconds = o.ClockSkewSeconds(clientTime, serverTime),
        };
    }

    private string[] ValidSpecialties(string[]? requested)
    {
        if (requested is null || requested.Length == 0)
        {
            return [];
        }

        var o = gatewayOptions.CurrentValue;
        var distinct = requested.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length > o.MaxSpecialties)
        {
            throw new HubException($"At most {o.MaxSpecialties.ToString(CultureInfo.InvariantCulture)} specialties may be listed.");
        }

        var allowed = o.EffectiveSpecialties;
        foreach (var specialty in distinct)
        {
            if (specialty is null || !allowed.Contains(specialty, StringComparer.Ordinal))
            {
                throw new HubException("Unknown specialty; allowed: " + string.Join(", ", allowed) + ".");
            }
        }

        return distinct;
    }

    /// <summary>The caller's role and id, always from the token.</summary>
    public static (Role Role, string Id) RequireUser(ClaimsPrincipal? user, string action)
    {
        if (!TryGetUser(user, out var role, out var id))
        {
            throw new HubException($"Sign in to {action}: connect with a token (access_token) carrying a role and a valid sub.");
        }

        return (role.Value, id);
    }

    public static bool TryGetUser(ClaimsPrincipal? user, [NotNullWhen(true)] out Role? role, [NotNullWhen(true)] out string? id)
    {
        role = null;
        id = null;
        if (user?.Identity?.IsAuthenticated != true)
        {
            return false;
        }

        var sub = user.FindFirstValue(PresenceClaims.Subject);
        if (sub is null || !UserId.IsValid(sub) || !Roles.TryParse(user.FindFirstValue(PresenceClaims.Role), out role))
        {
            return false;
        }

        id = sub;
        return true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Hub connection of {Role} {UserId} closed: {Outcome}")]
    private static partial void LogDisconnected(ILogger logger, string role, string userId, DisconnectOutcome outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove the closed hub connection of {Role} {UserId}; it expires by itself")]
    private static partial void LogDisconnectFailed(ILogger logger, string role, string userId, Exception exception);
}
