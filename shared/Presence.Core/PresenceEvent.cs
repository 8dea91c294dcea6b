using System.Globalization;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// One state event of a role's stream: the user's whole state after a transition (docs/architecture.md, "Events").
/// The presence script writes these fields; this type is the one place that reads (and, for tests and tools, writes) them.
/// </summary>
/// <param name="Role">The user's role.</param>
/// <param name="Id">The user id.</param>
/// <param name="Ver">The user's version after the change; a higher one is newer (docs/architecture.md, "Versions").</param>
/// <param name="At">When the transition happened (server time).</param>
/// <param name="Status"><c>online</c>, <c>recent</c> or <c>offline</c>.</param>
/// <param name="Available">The therapist's "accepting sessions" flag after the change.</param>
/// <param name="AvailableUntil">The explicit end of the availability, when the therapist gave one.</param>
/// <param name="LastActive">The user's last activity, when known.</param>
/// <param name="Reason">What caused it: one of <see cref="PresenceReason.All"/>.</param>
public sealed record PresenceEvent(
    PresenceRole Role,
    string Id,
    long Ver,
    DateTimeOffset At,
    string Status,
    bool Available,
    DateTimeOffset? AvailableUntil,
    DateTimeOffset? LastActive,
    string Reason)
{
    /// <summary>Reads a stream entry of <paramref name="role"/>'s stream; false for anything malformed or of another role.</summary>
    public static bool TryParse(StreamEntry entry, PresenceRole role, out PresenceEvent presenceEvent)
    {
        presenceEvent = null!;
        if (entry.IsNull || entry["role"] != role.Name())
        {
            return false;
        }

        var id = entry["id"].ToString();
        var status = entry["status"].ToString();
        var reason = entry["reason"].ToString();
        if (!UserId.IsValid(id) || !PresenceEventStatus.IsKnown(status) || !PresenceReason.IsKnown(reason)
            || !TryMs(entry["ver"], out var ver) || !TryMs(entry["at"], out var at))
        {
            return false;
        }

        var available = entry["available"].ToString();
        if (available is not ("0" or "1"))
        {
            return false;
        }

        presenceEvent = new PresenceEvent(role, id, ver, DateTimeOffset.FromUnixTimeMilliseconds(at), status, available == "1",
            TryMs(entry["availableUntil"], out var until) ? DateTimeOffset.FromUnixTimeMilliseconds(until) : null,
            TryMs(entry["lastActive"], out var last) ? DateTimeOffset.FromUnixTimeMilliseconds(last) : null,
            reason);
        return true;
    }

    /// <summary>The stream fields of this event, as the presence script writes them.</summary>
    public NameValueEntry[] Format()
    {
        var fields = new List<NameValueEntry>(9)
        {
            new("role", Role.Name()),
            new("id", Id),
            new("ver", Ver),
            new("at", At.ToUnixTimeMilliseconds()),
            new("status", Status),
            new("available", Available ? "1" : "0"),
        };
        if (AvailableUntil is { } until)
        {
            fields.Add(new("availableUntil", until.ToUnixTimeMilliseconds()));
        }

        if (LastActive is { } last)
        {
            fields.Add(new("lastActive", last.ToUnixTimeMilliseconds()));
        }

        fields.Add(new("reason", Reason));
        return [.. fields];
    }

    private static bool TryMs(RedisValue value, out long ms) =>
        long.TryParse(value.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out ms);
}
