using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace Presence.Core.Engagement;

/// <summary>
/// One hour of therapist coverage: distinct therapists online in it, and distinct therapists flagged available in it
/// whatever their bucket (docs/architecture.md, "Buckets"); the wire keeps the name <c>available</c>.
/// </summary>
public sealed record CoverageHour(DateTimeOffset Hour, long Online, [property: JsonPropertyName("available")] long FlaggedAvailable);

/// <summary>A histogram of durations (seconds buckets <c>le60</c> … <c>inf</c>), its count and mean.</summary>
public sealed record DurationHistogram(long Count, double MeanSeconds, IReadOnlyDictionary<string, long> Buckets);

/// <summary>One day of sessions of a role (ended sessions), and of community users' wait for an available therapist.</summary>
public sealed record SessionDay(DateOnly Day, string Role, DurationHistogram Sessions, DurationHistogram TimeToAvailable);

/// <summary>Distinct active users of a role on one day (HyperLogLog, about 0.8 % error).</summary>
public sealed record ActiveUsersDay(DateOnly Day, string Role, long Users);

/// <summary>
/// Engagement analytics (docs/architecture.md, "Engagement analytics"): folds state events into hourly and daily
/// aggregates and reads them back. Nothing lasting per community user: ids only enter HyperLogLogs (not
/// recoverable), the event identities of the replay guard are hashed and kept two days, and a session's start
/// lives only until the session ends.
/// </summary>
public sealed class Analytics(IConnectionMultiplexer redis, EngagementKeys keys, RedisResilience resilience, EngagementMetrics metrics)
{
    public static readonly TimeSpan Retention = TimeSpan.FromDays(90);
    private static readonly TimeSpan Scratch = TimeSpan.FromDays(2);
    private static readonly string[] BucketNames = ["le60", "le300", "le900", "le1800", "le3600", "le7200", "le14400", "inf"];

    /// <summary>Folds one event; false when it was folded before (a replay changes nothing).</summary>
    public async Task<bool> FoldAsync(PresenceEvent e, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(e);
        var at = e.At;
        var atMs = at.ToUnixTimeMilliseconds();
        var day = Day(at);
        var hour = at.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);
        var role = e.Role.Name();
        var identity = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{role}|{e.Id}|{e.Ver}|{atMs}|{e.Status}|{e.Available}")).AsSpan(0, 12));
        RedisKey[] k =
        [
            keys.Analytics("seen", day), keys.Analytics("coverage-online", hour), keys.Analytics("coverage-available", hour),
            keys.Analytics("sessions-" + role, day), keys.AnalyticsSession(role, e.Id), keys.Analytics("dau-" + role, day),
            keys.Analytics("available-now", "therapist"), keys.Analytics("waiting", "community"), keys.Analytics("time-to-available", day),
        ];
        RedisValue[] args = [identity, role, e.Id, atMs, e.Status, e.Available ? "1" : "0", (long)Retention.TotalMilliseconds, (long)Scratch.TotalMilliseconds];
        var reply = (long[])(await resilience.ExecuteAsync(static (s, _) => AnalyticsScripts.Fold.EvaluateAsync(s.db, s.k, s.args),
            (db: redis.GetDatabase(), k, args), idempotent: true, ct).ConfigureAwait(false))!;
        var folded = reply[0] == 1;
        metrics.AnalyticsEvent(role, folded ? "folded" : "duplicate");
        if (folded)
        {
            if (reply[1] >= 0)
            {
                metrics.SessionEnded(role, TimeSpan.FromMilliseconds(reply[1]));
            }

            foreach (var wait in reply.Skip(2))
            {
                metrics.WaitedForAvailable(TimeSpan.FromMilliseconds(wait));
            }
        }

        return folded;
    }

    /// <summary>
    /// Adds the therapists online now and those flagged available now (docs/architecture.md, "Buckets": the flag, not
    /// the bucket) to this hour's coverage, so one online across several hours counts in each of them, not only in the
    /// hour of its last event (idempotent: HyperLogLogs).
    /// </summary>
    public async Task SampleCoverageAsync(IReadOnlyCollection<string> online, IReadOnlyCollection<string> flaggedAvailable, DateTimeOffset now, CancellationToken ct)
    {
        var hour = now.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);
        await resilience.ExecuteAsync(static async (s, _) =>
        {
            var db = s.redis.GetDatabase();
            var writes = new List<Task>();
            foreach (var (key, ids) in new[] { (s.onlineKey, s.online), (s.flaggedKey, s.flaggedAvailable) })
            {
                foreach (var chunk in ids.Where(UserId.IsValid).Chunk(1000))
                {
                    writes.Add(db.HyperLogLogAddAsync(key, [.. chunk.Select(id => (RedisValue)id)]));
                }

                writes.Add(db.KeyExpireAsync(key, Retention));
            }

            await Task.WhenAll(writes).ConfigureAwait(false);
            return true;
        }, (redis, onlineKey: keys.Analytics("coverage-online", hour), flaggedKey: keys.Analytics("coverage-available", hour), online, flaggedAvailable),
            idempotent: true, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<CoverageHour>> CoverageAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var hours = new List<DateTimeOffset>();
        for (var h = new DateTimeOffset(from.UtcDateTime.Date.AddHours(from.UtcDateTime.Hour), TimeSpan.Zero); h < to; h = h.AddHours(1))
        {
            hours.Add(h);
        }

        return await ReadAsync(async db =>
        {
            var online = hours.Select(h => db.HyperLogLogLengthAsync(keys.Analytics("coverage-online", h.ToString("yyyyMMddHH", CultureInfo.InvariantCulture)))).ToArray();
            var flagged = hours.Select(h => db.HyperLogLogLengthAsync(keys.Analytics("coverage-available", h.ToString("yyyyMMddHH", CultureInfo.InvariantCulture)))).ToArray();
            await Task.WhenAll(online.Concat(flagged)).ConfigureAwait(false);
            return (IReadOnlyList<CoverageHour>)[.. hours.Select((h, i) => new CoverageHour(h, online[i].Result, flagged[i].Result))];
        }, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<SessionDay>> SessionsAsync(PresenceRole role, DateOnly from, DateOnly to, CancellationToken ct)
    {
        var days = Days(from, to);
        return await ReadAsync(async db =>
        {
            var sessions = days.Select(d => db.HashGetAllAsync(keys.Analytics("sessions-" + role.Name(), Day(d)))).ToArray();
            var waits = days.Select(d => db.HashGetAllAsync(keys.Analytics("time-to-available", Day(d)))).ToArray();
            await Task.WhenAll(sessions.Concat(waits)).ConfigureAwait(false);
            return (IReadOnlyList<SessionDay>)[.. days.Select((d, i) => new SessionDay(d, role.Name(), Histogram(sessions[i].Result), Histogram(waits[i].Result)))];
        }, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ActiveUsersDay>> ActiveUsersAsync(PresenceRole role, DateOnly from, DateOnly to, CancellationToken ct)
    {
        var days = Days(from, to);
        return await ReadAsync(async db =>
        {
            var counts = days.Select(d => db.HyperLogLogLengthAsync(keys.Analytics("dau-" + role.Name(), Day(d)))).ToArray();
            await Task.WhenAll(counts).ConfigureAwait(false);
            return (IReadOnlyList<ActiveUsersDay>)[.. days.Select((d, i) => new ActiveUsersDay(d, role.Name(), counts[i].Result))];
        }, ct).ConfigureAwait(false);
    }

    private Task<T> ReadAsync<T>(Func<IDatabase, Task<T>> read, CancellationToken ct) =>
        resilience.ExecuteAsync(static (s, _) => s.read(s.db), (read, db: redis.GetDatabase()), idempotent: false, ct).AsTask();

    private static DurationHistogram Histogram(HashEntry[] entries)
    {
        var map = entries.ToDictionary(e => e.Name.ToString(), e => (long)e.Value, StringComparer.Ordinal);
        var count = map.GetValueOrDefault("count");
        var total = map.GetValueOrDefault("totalMs");
        return new DurationHistogram(count, count == 0 ? 0 : total / 1000.0 / count, BucketNames.ToDictionary(b => b, b => map.GetValueOrDefault(b), StringComparer.Ordinal));
    }

    private static List<DateOnly> Days(DateOnly from, DateOnly to)
    {
        var days = new List<DateOnly>();
        for (var d = from; d <= to; d = d.AddDays(1))
        {
            days.Add(d);
        }

        return days;
    }

    private static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    private static string Day(DateOnly day) => day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
}
