using Presence.Core;
using StackExchange.Redis;

namespace Presence.Janitor.Expiry;

/// <summary>
/// Retention driven by keyspace expiry (DESIGN.md §3): a user hash expires when the retention since the user's
/// last activity passed; the user's last-seen entry and throttle go with it. What stays, and why:
/// <list type="bullet">
/// <item><c>online</c>: the sweep owns the online → recent transition (it emits the event); a user idle for the
/// retention left <c>online</c> long ago.</item>
/// <item><c>conns</c>: the connection sweep owns it (by expiry score), and the key carries the same retention TTL.</item>
/// <item><c>available</c>: the flag has no TTL (DESIGN.md §1): a therapist accepting sessions stays listed as
/// available, with no last activity, until the flag is cleared.</item>
/// </list>
/// </summary>
internal sealed class UserExpiry(ScriptRunner scripts, PresenceKeys keys, JanitorMetrics metrics)
{
    /// <summary>Handles one expired key; returns null when it is not a user hash of this key prefix, else whether the user was forgotten.</summary>
    public async Task<bool?> HandleExpiredAsync(string key, CancellationToken ct)
    {
        foreach (var role in Roles.All)
        {
            var prefix = keys.UserKeyPrefix(role);
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var id = key[prefix.Length..];
            if (!UserId.IsValid(id))
            {
                return null;
            }

            var removed = (long)await scripts.RunAsync("janitor-user-expired", JanitorScripts.UserExpired,
                [keys.User(role, id), keys.LastSeen(role), keys.Throttle(role, id)], [id], idempotent: true, ct).ConfigureAwait(false) == 1;
            metrics.ExpiryEvent(role, removed);
            return removed;
        }

        return null;
    }
}
