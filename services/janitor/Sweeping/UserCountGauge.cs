using System.Diagnostics;
using System.Diagnostics.Metrics;
using Presence.Core;
using Presence.Janitor.Leadership;

namespace Presence.Janitor.Sweeping;

/// <summary>
/// Users of one role per bucket, as one sweep counted them: the reader's <see cref="PresenceCounts"/> (the same
/// definition and names as <c>GET /v1/presence/stats</c>, <see cref="PresenceReader.CountAsync"/>); its available is
/// the bucket, not every flagged therapist (docs/architecture.md, "Buckets").
/// </summary>
internal readonly record struct RoleCounts(PresenceRole Role, PresenceCounts Counts);

/// <summary>
/// <c>presence.users</c> {role, bucket} and <c>presence.janitor.leader</c>. Only the leader reports user
/// counts, so a dashboard summing over replicas sees each user once; the counts are the last sweep's,
/// taken with O(log N) commands, never by reading members.
/// </summary>
internal sealed class UserCountGauge
{
    private IReadOnlyList<RoleCounts> _counts = [];

    public UserCountGauge(PresenceMetrics presence, LeaderLease lease)
    {
        presence.Meter.CreateObservableGauge("presence.users", () => Observe(lease), "{user}",
            "Users per role and bucket (online, recent, available), reported by the janitor leader.");
        presence.Meter.CreateObservableGauge("presence.janitor.leader", () => lease.IsLeader ? 1 : 0,
            description: "1 while this janitor replica holds the leader lease.");
    }

    public IReadOnlyList<RoleCounts> Current => Volatile.Read(ref _counts);

    public void Publish(IReadOnlyList<RoleCounts> counts) => Volatile.Write(ref _counts, counts);

    private List<Measurement<long>> Observe(LeaderLease lease)
    {
        var measurements = new List<Measurement<long>>();
        if (!lease.IsLeader)
        {
            return measurements;
        }

        foreach (var c in Current)
        {
            var role = c.Role.Name();
            measurements.Add(new Measurement<long>(c.Counts.Online, new TagList { { PresenceTags.Role, role }, { PresenceTags.Bucket, "online" } }));
            measurements.Add(new Measurement<long>(c.Counts.Recent, new TagList { { PresenceTags.Role, role }, { PresenceTags.Bucket, "recent" } }));
            measurements.Add(new Measurement<long>(c.Counts.Available, new TagList { { PresenceTags.Role, role }, { PresenceTags.Bucket, "available" } }));
        }

        return measurements;
    }
}
