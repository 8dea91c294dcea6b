namespace Presence.Client;

/// <summary>
/// The highest <c>ver</c> seen per user (role and id): a change older than, or the same as, the known one is dropped, so
/// a late push from another gateway replica never undoes a newer one (docs/hub.md). A change without <c>ver</c> counts as
/// version 0. Thread-safe.
/// </summary>
public sealed class PresenceVersions
{
    private readonly Dictionary<(string Role, string Id), long> _versions = [];
    private readonly Lock _gate = new();

    /// <summary>Records the change's version and answers whether it is newer than what was known.</summary>
    public bool Accept(string role, string id, long? ver)
    {
        ArgumentNullException.ThrowIfNull(role);
        ArgumentNullException.ThrowIfNull(id);
        var version = ver ?? 0;
        lock (_gate)
        {
            if (_versions.TryGetValue((role, id), out var known) && (version < known || (version == known && version > 0)))
            {
                return false;
            }

            _versions[(role, id)] = version;
            return true;
        }
    }

    /// <summary>The highest version seen for a user, or null.</summary>
    public long? Latest(string role, string id)
    {
        lock (_gate)
        {
            return _versions.TryGetValue((role, id), out var known) ? known : null;
        }
    }
}
