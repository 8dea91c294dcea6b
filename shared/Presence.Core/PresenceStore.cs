using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>What a heartbeat did.</summary>
/// <param name="Accepted">False when the min interval refused it.</param>
/// <param name="CameOnline">True when this heartbeat made the user online (one <c>online</c> event was appended).</param>
/// <param name="RetryAfter">When refused: how long until a heartbeat is accepted again.</param>
/// <param name="ServerTime">The server time the heartbeat was recorded at.</param>
public readonly record struct HeartbeatResult(bool Accepted, bool CameOnline, TimeSpan RetryAfter, DateTimeOffset ServerTime);

/// <summary>A heartbeat to record. Metadata is small, allow-listed, and already validated by the caller.</summary>
public readonly record struct Heartbeat(
    Role Role,
    string UserId,
    HeartbeatTransport Transport,
    bool? Available = null,
    IReadOnlyList<KeyValuePair<string, string>>? Metadata = null);

/// <summary>
/// The one writer of presence state (DESIGN.md §3). Each operation is one Lua script, one round trip,
/// over one role's keys (one hash tag). Ids are validated here too, so nothing unchecked reaches a key.
/// </summary>
public sealed class PresenceStore(
    PresenceKeys keys,
    IOptionsMonitor<PresenceOptions> options,
    ScriptRunner scripts,
    PresenceMetrics metrics,
    TimeProvider time)
{
    private const string TransportHub = "hub";
    private const string TransportRest = "rest";

    public async Task<HeartbeatResult> HeartbeatAsync(Heartbeat heartbeat, CancellationToken ct = default)
    {
        UserId.EnsureValid(heartbeat.UserId);
        var o = options.CurrentValue;
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var role = heartbeat.Role;
        var id = heartbeat.UserId;
        var metadataCount = heartbeat.Metadata?.Count ?? 0;
        var args = new RedisValue[9 + (metadataCount * 2)];
        args[0] = id;
        args[1] = nowMs;
        args[2] = nowMs + (long)o.OnlineWindow.TotalMilliseconds;
        args[3] = (long)o.Retention.TotalMilliseconds;
        // The min interval guards REST only; hub heartbeats are limited per connection by the gateway.
        args[4] = heartbeat.Transport == HeartbeatTransport.Rest ? (long)o.MinHeartbeatInterval.TotalMilliseconds : 0;
        args[5] = heartbeat.Transport == HeartbeatTransport.Hub ? TransportHub : TransportRest;
        args[6] = o.EventStreamMaxLength;
        args[7] = role.Name();
        args[8] = heartbeat.Available switch { true => "1", false => "0", null => RedisValue.EmptyString };
        for (var i = 0; i < metadataCount; i++)
        {
            args[9 + (2 * i)] = heartbeat.Metadata![i].Key;
            args[10 + (2 * i)] = heartbeat.Metadata[i].Value;
        }

        RedisKey[] scriptKeys =
        [
            keys.LastSeen(role), keys.Online(role), keys.User(role, id), keys.Throttle(role, id),
            keys.Events(role), keys.Available(role),
        ];

        // A REST heartbeat is not retried: a retry of one that did land would be refused by its own throttle.
        var result = await scripts.RunAsync("heartbeat", PresenceScripts.Heartbeat, scriptKeys, args,
            idempotent: heartbeat.Transport == HeartbeatTransport.Hub, ct).ConfigureAwait(false);
        var values = (RedisResult[])result!;
        var accepted = (long)values[0] == 1;
        metrics.Heartbeat(role, heartbeat.Transport, accepted ? HeartbeatOutcome.Accepted : HeartbeatOutcome.Throttled);
        return accepted
            ? new HeartbeatResult(true, (long)values[1] == 1, TimeSpan.Zero, now)
            : new HeartbeatResult(false, false, TimeSpan.FromMilliseconds(Math.Max(1, (long)values[1])), now);
    }

    /// <summary>Sets or clears the available flag; true when it changed (and an event was appended).</summary>
    public async Task<bool> SetAvailabilityAsync(Role role, string userId, bool available, CancellationToken ct = default)
    {
        UserId.EnsureValid(userId);
        var o = options.CurrentValue;
        RedisValue[] args = [userId, available ? "1" : "0", time.GetUtcNow().ToUnixTimeMilliseconds(), o.EventStreamMaxLength, role.Name()];
        var result = await scripts.RunAsync("availability", PresenceScripts.Availability, [keys.Available(role), keys.Events(role)], args,
            idempotent: true, ct).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <summary>Online ends now; true when the user was online (and one <c>recent</c> event was appended).</summary>
    public async Task<bool> SignOffAsync(Role role, string userId, CancellationToken ct = default)
    {
        UserId.EnsureValid(userId);
        var o = options.CurrentValue;
        RedisValue[] args = [userId, time.GetUtcNow().ToUnixTimeMilliseconds(), o.EventStreamMaxLength, role.Name()];
        var result = await scripts.RunAsync("signoff", PresenceScripts.SignOff, [keys.Online(role), keys.Throttle(role, userId), keys.Events(role)], args,
            idempotent: true, ct).ConfigureAwait(false);
        return (long)result == 1;
    }
}
