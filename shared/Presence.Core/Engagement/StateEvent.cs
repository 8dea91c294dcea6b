using System.Globalization;
using StackExchange.Redis;

namespace Presence.Core.Engagement;

/// <summary>
/// A v2 state event as the analytics fold and the notifier read it (fields <c>role, id, ver, at, status, available,
/// availableUntil, lastActive, reason</c>). Kept small and in one place so it can give way to Core's typed event.
/// </summary>
public sealed record StateEvent(Role Role, string Id, long Ver, long At, string Status, bool Available, string Reason)
{
    public static bool TryParse(NameValueEntry[] fields, out StateEvent? value)
    {
        value = null;
        string? Get(string name) => fields.FirstOrDefault(f => f.Name == name).Value is { IsNull: false } v ? v.ToString() : null;
        if (!Roles.TryParse(Get("role"), out var role) || Get("id") is not { } id || !UserId.IsValid(id)
            || !long.TryParse(Get("ver"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ver)
            || !long.TryParse(Get("at"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var at)
            || Get("status") is not ("online" or "recent" or "offline") )
        {
            return false;
        }

        value = new StateEvent(role.Value, id, ver, at, Get("status")!, Get("available") == "1", Get("reason") ?? string.Empty);
        return true;
    }
}
