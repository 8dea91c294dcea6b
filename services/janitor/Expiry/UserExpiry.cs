using Presence.Core;
using StackExchange.Redis;

namespace Presence.Janitor.Expiry;

/// <summary>
/// Retention driven by keyspace expiry (docs/architecture.md, "Keys"): a user hash expires when the retention since
/// the user's last activity passed; the user's last-seen entry, version, specialties and sessions go with it. The
/// indexes (online, recent, available) stay: their sweeps own those transitions and emit them.
/// </summary>
internal sealed class UserExpiry(PresenceStore store, PresenceKeys keys, JanitorMetrics metrics)
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

            var removed = await store.ForgetExpiredUserAsync(role, id, ct).ConfigureAwait(false);
            metrics.ExpiryEvent(role, removed);
            return removed;
        }

        return null;
    }
}
