using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>What a heartbeat did.</summary>
/// <param name="Accepted">False when the min interval refused it.</param>
/// <param name="CameOnline">True when this heartbeat made the user online (one event was appended).</param>
/// <param name="RetryAfter">When refused: how long until a heartbeat is accepted again.</param>
/// <param name="ServerTime">The server time the heartbeat was recorded at.</param>
/// <param name="Ver">The version of the event this heartbeat appended, or 0 when it appended none.</param>
public readonly record struct HeartbeatResult(bool Accepted, bool CameOnline, TimeSpan RetryAfter, DateTimeOffset ServerTime, long Ver = 0);

/// <summary>Where a heartbeat comes from: a REST device, or a hub connection on a gateway instance.</summary>
public readonly record struct SessionRef(HeartbeatTransport Transport, string Name, string? InstanceId = null)
{
    /// <summary>The REST session of a client that names no device.</summary>
    public const string DefaultDevice = "default";

    private const string DefaultRestMember = "rest:" + DefaultDevice;

    public static SessionRef Rest(string? device) => new(HeartbeatTransport.Rest, device ?? DefaultDevice);

    public static SessionRef Hub(string instanceId, string connectionId) => new(HeartbeatTransport.Hub, connectionId, instanceId);

    /// <summary>The member in the user's sessions set.</summary>
    public string Member => Transport == HeartbeatTransport.Hub ? "hub:" + Name
        : Name == DefaultDevice ? DefaultRestMember : "rest:" + Name;

    /// <summary>The entry in the gateway instance's set, for hub sessions.</summary>
    public string InstanceEntry(string userId) => Transport == HeartbeatTransport.Hub ? userId + ConnectionStore.Separator + Name : string.Empty;
}

/// <summary>
/// A heartbeat to record. Specialties are allow-listed and validated by the caller; null leaves them unchanged.
/// <paramref name="Session"/> names the REST device or the hub connection; unset, a REST beat uses the default REST
/// session and a hub beat one fixed local connection (tools and tests; the gateway always names its connection).
/// </summary>
public readonly record struct Heartbeat(
    PresenceRole Role,
    string UserId,
    HeartbeatTransport Transport,
    bool? Available = null,
    IReadOnlyList<string>? Specialties = null,
    SessionRef? Session = null,
    string Reason = PresenceReason.Heartbeat);

/// <summary>What ending one session did to the user.</summary>
public enum SessionEndOutcome
{
    /// <summary>The user still has another live session (another tab or device).</summary>
    SessionsRemain = 0,

    /// <summary>That was the last session; the user was not online anyway.</summary>
    NotOnline = 1,

    /// <summary>That was the last session: the user leaves when the leave grace ends, unless a session comes back.</summary>
    Leaving = 2,

    /// <summary>That was the last session and the user left now (one event was appended).</summary>
    Left = 3,
}

/// <summary>What a setting of availability did.</summary>
public readonly record struct AvailabilityResult(bool Changed, long Ver);

/// <summary>The score indexes the janitor sweeps (docs/architecture.md, "Sweeps").</summary>
public enum DueIndex
{
    /// <summary>Online-until passed: the last session timed out, or the leave grace ended.</summary>
    Online,

    /// <summary>The recent window ended.</summary>
    Recent,

    /// <summary>The availability lapsed.</summary>
    Available,
}

/// <summary>
/// The one writer of presence state (docs/architecture.md, "Presence model"). Every operation is one call of the
/// presence script, one round trip, over one user's keys and the indexes of the user's shard (one hash tag). A
/// heartbeat of a session already known goes to the short steady script first, and to the presence script only when
/// it changes state (docs/architecture.md, "The steady heartbeat"). Ids are validated here too, so nothing unchecked
/// reaches a key.
/// </summary>
public sealed class PresenceStore(
    IConnectionMultiplexer redis,
    PresenceKeys keys,
    IOptionsMonitor<PresenceOptions> options,
    RedisResilience resilience,
    ScriptRunner scripts,
    PresenceMetrics metrics,
    TimeProvider time)
{
    public async Task<HeartbeatResult> HeartbeatAsync(Heartbeat heartbeat, CancellationToken ct = default)
    {
        UserId.EnsureValid(heartbeat.UserId);
        var o = options.CurrentValue;
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var session = heartbeat.Session ?? (heartbeat.Transport == HeartbeatTransport.Hub ? SessionRef.Hub("local", "default") : SessionRef.Rest(null));
        EnsureValidName(session.Name);
        var beat = new Beat(heartbeat, session, nowMs, o);

        // A join or new specialties always change state: those go to the presence script at once. The steady call is
        // awaited here rather than in a method of its own: one async state machine fewer per heartbeat.
        RedisResult[]? values = null;
        if (heartbeat.Specialties is null && heartbeat.Reason != PresenceReason.Join)
        {
            var (scriptKeys, args) = SteadyBeat(beat);
            values = (RedisResult[])(await scripts.RunAsync("heartbeat", PresenceScripts.Beat, scriptKeys, args, beat.Idempotent, ct).ConfigureAwait(false))!;
            // Back to the pools only after a completed call: one that failed may still be queued in the multiplexer.
            ReturnSteady(heartbeat.Available is not null, scriptKeys, args);
            values = (long)values[0] == 2 ? null : values;
        }

        values ??= await FullBeatAsync(beat, ct).ConfigureAwait(false);
        var accepted = (long)values[0] == 1;
        metrics.Heartbeat(heartbeat.Role, session.Transport, accepted ? HeartbeatOutcome.Accepted : HeartbeatOutcome.Throttled);
        return accepted
            ? new HeartbeatResult(true, (long)values[1] == 1, TimeSpan.Zero, now, (long)values[2])
            : new HeartbeatResult(false, false, TimeSpan.FromMilliseconds(Math.Max(1, (long)values[1])), now);
    }

    /// <summary>
    /// Sets or clears availability (docs/architecture.md, "Availability"). <paramref name="until"/> is the explicit
    /// end, already checked to lie within the availability TTL; without one the availability lapses after the TTL
    /// unless renewed. Changed (and one event) when the flag or the explicit end changed.
    /// </summary>
    public async Task<AvailabilityResult> SetAvailabilityAsync(PresenceRole role, string userId, bool available, DateTimeOffset? until, CancellationToken ct = default)
    {
        UserId.EnsureValid(userId);
        var o = options.CurrentValue;
        var args = Args("avail", role, userId, time.GetUtcNow().ToUnixTimeMilliseconds(), o);
        args[11] = available ? "1" : "0";
        args[13] = until is { } u && available ? u.ToUnixTimeMilliseconds() : RedisValue.EmptyString;
        var values = (RedisResult[])(await RunAsync("availability", role, userId, SessionRef.Rest(null), args, idempotent: true, ct).ConfigureAwait(false))!;
        return new AvailabilityResult((long)values[0] == 1, (long)values[1]);
    }

    /// <summary>Sets or clears availability without an explicit end: it lapses after the availability TTL unless renewed.</summary>
    public Task<AvailabilityResult> SetAvailabilityAsync(PresenceRole role, string userId, bool available, CancellationToken ct = default) =>
        SetAvailabilityAsync(role, userId, available, until: null, ct);

    /// <summary>A REST sign-off of the default session.</summary>
    public Task<SessionEndOutcome> SignOffAsync(PresenceRole role, string userId, CancellationToken ct) => SignOffAsync(role, userId, device: null, ct);

    /// <summary>
    /// A REST sign-off of one device (null: the default session): that session ends; when it was the user's last, the
    /// user leaves after the leave grace. The min interval goes with the session, so logging straight back in is not refused.
    /// </summary>
    public Task<SessionEndOutcome> SignOffAsync(PresenceRole role, string userId, string? device = null, CancellationToken ct = default) =>
        EndAsync("end", "signoff", role, userId, SessionRef.Rest(device), PresenceReason.SignOff, ct);

    /// <summary>A hub connection closed: its session ends; when it was the user's last, the user leaves after the leave grace.</summary>
    public Task<SessionEndOutcome> CloseConnectionAsync(PresenceRole role, string userId, string instanceId, string connectionId, CancellationToken ct = default) =>
        EndAsync("end", "close", role, userId, SessionRef.Hub(instanceId, connectionId), PresenceReason.SignOff, ct);

    /// <summary>A hub connection was lost with its gateway instance: its session ends; when it was the last, the user leaves now.</summary>
    public Task<SessionEndOutcome> LoseConnectionAsync(PresenceRole role, string userId, string instanceId, string connectionId, CancellationToken ct = default) =>
        EndAsync("drop", "lose", role, userId, SessionRef.Hub(instanceId, connectionId), PresenceReason.LostInstance, ct);

    /// <summary>Users of one shard of a role due in one index at the current time (a bounded batch, by score).</summary>
    public async Task<string[]> DueAsync(DueIndex index, PresenceRole role, int shard, int limit, CancellationToken ct = default)
    {
        var key = index switch
        {
            DueIndex.Online => keys.Online(role, shard),
            DueIndex.Recent => keys.Recent(role, shard),
            _ => keys.Available(role, shard),
        };
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = await resilience.ExecuteAsync(
            static (s, _) => s.db.SortedSetRangeByScoreAsync(s.key, double.NegativeInfinity, s.nowMs, Exclude.None, Order.Ascending, 0, s.limit),
            (db: redis.GetDatabase(), key, nowMs, limit), idempotent: true, ct).ConfigureAwait(false);
        return [.. due.Select(u => u.ToString())];
    }

    /// <summary>
    /// Settles one user found due in an index: re-checks the score and, when the transition is still due, makes it and
    /// appends its one event (timeout or signoff; window-ended; expired). True when this call emitted it.
    /// </summary>
    public async Task<bool> SettleAsync(DueIndex index, PresenceRole role, string userId, CancellationToken ct = default)
    {
        UserId.EnsureValid(userId);
        var op = index switch
        {
            DueIndex.Online => "settle",
            DueIndex.Recent => "window",
            _ => "lapse",
        };
        var args = Args(op, role, userId, time.GetUtcNow().ToUnixTimeMilliseconds(), options.CurrentValue);
        return (long)(await RunAsync("settle-" + op, role, userId, SessionRef.Rest(null), args, idempotent: true, ct).ConfigureAwait(false)) == 1;
    }

    /// <summary>One bounded batch of the retention trim of one shard's last-seen (entries older than the retention); returns how many went.</summary>
    public async Task<long> TrimLastSeenAsync(PresenceRole role, int shard, int batchSize, CancellationToken ct = default)
    {
        var cutoff = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)options.CurrentValue.Retention.TotalMilliseconds;
        return (long)await scripts.RunAsync("janitor-retention-trim", SweepScripts.RetentionTrim, [keys.LastSeen(role, shard)],
            [cutoff, batchSize], idempotent: true, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The user's hash expired (retention since the last activity): forgets the user's last-seen entry, version,
    /// specialties, board entry and sessions, unless a heartbeat re-created the hash meanwhile. True when the user was forgotten.
    /// </summary>
    public async Task<bool> ForgetExpiredUserAsync(PresenceRole role, string userId, CancellationToken ct = default)
    {
        UserId.EnsureValid(userId);
        return (long)await scripts.RunAsync("janitor-user-expired", SweepScripts.UserExpired,
            [keys.User(role, userId), keys.LastSeen(role, userId), keys.Versions(role, userId), keys.Specialties(role, userId), keys.Sessions(role, userId),
                keys.Board(role, userId)],
            [userId], idempotent: true, ct).ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// The steady heartbeat's call (docs/architecture.md, "The steady heartbeat"): beat.lua with the few keys and
    /// arguments it needs, in arrays rented from pools; its answer is 2 when the heartbeat changes state (nothing was written).
    /// </summary>
    private (RedisKey[] Keys, RedisValue[] Args) SteadyBeat(Beat beat)
    {
        var h = beat.Heartbeat;
        var withAvailability = h.Available is not null;
        var shard = keys.ShardOf(h.UserId);
        var scriptKeys = (withAvailability ? SteadyKeysWithAvailability : SteadyKeys).Rent();
        scriptKeys[0] = keys.Sessions(h.Role, shard, h.UserId);
        scriptKeys[1] = keys.LastSeen(h.Role, shard);
        scriptKeys[2] = keys.Online(h.Role, shard);
        scriptKeys[3] = keys.User(h.Role, shard, h.UserId);
        if (withAvailability)
        {
            scriptKeys[4] = keys.Available(h.Role, shard);
            scriptKeys[5] = keys.AvailableUntil(h.Role, shard);
        }

        var args = (withAvailability ? SteadyArgsWithAvailability : SteadyArgs).Rent();
        args[0] = h.UserId;
        args[1] = beat.Session.Member;
        args[2] = beat.NowMs;
        args[3] = beat.ExpiresAt;
        args[4] = beat.MinInterval;
        args[5] = beat.RefreshPeriod;
        args[6] = beat.Retention;
        if (withAvailability)
        {
            args[7] = beat.Available;
            args[8] = beat.AvailabilityTtl;
        }

        return (scriptKeys, args);
    }

    private static void ReturnSteady(bool withAvailability, RedisKey[] scriptKeys, RedisValue[] args)
    {
        (withAvailability ? SteadyKeysWithAvailability : SteadyKeys).Return(scriptKeys);
        (withAvailability ? SteadyArgsWithAvailability : SteadyArgs).Return(args);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RedisResult[]> FullBeatAsync(Beat beat, CancellationToken ct)
    {
        var h = beat.Heartbeat;
        var args = Args("beat", h.Role, h.UserId, beat.NowMs, beat.Options);
        args[7] = beat.Session.Member;
        args[8] = beat.ExpiresAt;
        args[9] = beat.MinInterval;
        args[10] = beat.Session.Transport.Name();
        args[11] = beat.Available;
        args[14] = beat.Session.InstanceEntry(h.UserId);
        args[15] = h.Reason;
        args[16] = h.Specialties is { } list ? "=" + string.Join(',', list) : RedisValue.EmptyString;
        return (RedisResult[])(await RunAsync("heartbeat-full", h.Role, h.UserId, beat.Session, args, beat.Idempotent, ct).ConfigureAwait(false))!;
    }

    private async Task<SessionEndOutcome> EndAsync(
        string op, string operation, PresenceRole role, string userId, SessionRef session, string reason, CancellationToken ct)
    {
        UserId.EnsureValid(userId);
        EnsureValidName(session.Name);
        var o = options.CurrentValue;
        var args = Args(op, role, userId, time.GetUtcNow().ToUnixTimeMilliseconds(), o);
        args[7] = session.Member;
        args[8] = (long)o.LeaveGrace.TotalMilliseconds;
        args[14] = session.InstanceEntry(userId);
        args[15] = reason;
        // Removals converge (ZREM/SREM of the same members; a second leave is refused by ZREM), so they may be retried.
        var values = (RedisResult[])(await RunAsync(operation, role, userId, session, args, idempotent: true, ct).ConfigureAwait(false))!;
        return (SessionEndOutcome)(long)values[0];
    }

    private static RedisValue[] Args(string op, PresenceRole role, string userId, long nowMs, PresenceOptions o)
    {
        var args = new RedisValue[17];
        Array.Fill(args, RedisValue.EmptyString);
        args[0] = op;
        args[1] = userId;
        args[2] = nowMs;
        args[3] = role.Name();
        args[4] = o.EventStreamMaxLength;
        args[5] = (long)o.RecentWindow.TotalMilliseconds;
        args[6] = (long)o.Retention.TotalMilliseconds;
        args[8] = 0;
        args[9] = 0;
        args[12] = (long)o.AvailabilityTtl.TotalMilliseconds;
        return args;
    }

    private ValueTask<RedisResult> RunAsync(string operation, PresenceRole role, string userId, SessionRef session, RedisValue[] args, bool idempotent, CancellationToken ct)
    {
        // Every key is in the user's shard (docs/architecture.md, "Shards"): one hash tag, one slot.
        var shard = keys.ShardOf(userId);
        RedisKey[] scriptKeys =
        [
            keys.LastSeen(role, shard), keys.Online(role, shard), keys.Recent(role, shard), keys.Available(role, shard),
            keys.AvailableUntil(role, shard), keys.Specialties(role, shard), keys.Versions(role, shard), keys.User(role, shard, userId),
            keys.Sessions(role, shard, userId), keys.Events(role, shard), keys.InstanceConnections(role, shard, session.InstanceId ?? "none"),
            keys.Board(role, shard),
        ];
        return scripts.RunAsync(operation, PresenceScripts.Presence, scriptKeys, args, idempotent, ct);
    }

    private static readonly ExactArrayPool<RedisKey> SteadyKeys = new(4);
    private static readonly ExactArrayPool<RedisKey> SteadyKeysWithAvailability = new(6);
    private static readonly ExactArrayPool<RedisValue> SteadyArgs = new(7);
    private static readonly ExactArrayPool<RedisValue> SteadyArgsWithAvailability = new(9);

    /// <summary>One heartbeat's values, shared by the steady and the full script call.</summary>
    private readonly record struct Beat(Heartbeat Heartbeat, SessionRef Session, long NowMs, PresenceOptions Options)
    {
        private long Window => (long)(Session.Transport == HeartbeatTransport.Hub ? Options.StaleConnection : Options.OnlineWindow).TotalMilliseconds;

        public long ExpiresAt => NowMs + Window;

        /// <summary>The min interval guards REST only; hub heartbeats are limited per connection by the gateway.</summary>
        public long MinInterval => Session.Transport == HeartbeatTransport.Rest ? (long)Options.MinHeartbeatInterval.TotalMilliseconds : 0;

        public long Retention => (long)Options.Retention.TotalMilliseconds;

        /// <summary>
        /// How often a steady session rewrites the user hash and the TTLs: a sixteenth of the retention, and never so long
        /// that the keys could expire before the session does (retention minus the session's window).
        /// </summary>
        public long RefreshPeriod => Math.Max(1, Math.Min(Retention / 16, Retention - Window));

        public RedisValue Available => Heartbeat.Available switch { true => "1", false => "0", null => RedisValue.EmptyString };

        public long AvailabilityTtl => (long)Options.AvailabilityTtl.TotalMilliseconds;

        /// <summary>A REST heartbeat is not retried: a retry of one that did land would be refused by its own min interval.</summary>
        public bool Idempotent => Session.Transport == HeartbeatTransport.Hub;
    }

    private static void EnsureValidName(string name)
    {
        // Device ids and connection ids end up in keys and members: the same rule as user ids.
        if (!UserId.IsValid(name))
        {
            throw new ArgumentException("The session name does not match " + UserId.Pattern + ".", nameof(name));
        }
    }
}
