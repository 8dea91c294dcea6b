namespace Presence.Core;

/// <summary>One acquire-or-renew attempt: held by the caller now, or by another holder for <paramref name="HolderRemainingMs"/> more (PTTL: -1 no TTL, -2 gone).</summary>
public readonly record struct LeaseAttempt(bool Held, long HolderRemainingMs);

/// <summary>
/// The janitor leader lease in Redis (<c>presence:janitor:lease</c>, docs/architecture.md, "Keys"): acquire-or-renew
/// and release by holder token, one script call each (Scripts/janitor-lease.lua, Scripts/janitor-lease-release.lua).
/// When to call and what a holder believes between calls is the janitor's business.
/// </summary>
public sealed class LeaderLeaseStore(ScriptRunner scripts, PresenceKeys keys)
{
    /// <summary>Takes the lease when free, renews it when <paramref name="token"/> holds it; otherwise reports the holder's time left.</summary>
    public async Task<LeaseAttempt> AcquireOrRenewAsync(string token, TimeSpan lease, CancellationToken ct = default)
    {
        var reply = (long[])(await scripts.RunAsync("janitor-lease", LeaseScripts.AcquireOrRenew, [keys.JanitorLease],
            [token, (long)lease.TotalMilliseconds], idempotent: true, ct).ConfigureAwait(false))!;
        return new LeaseAttempt(reply[0] == 1, reply[1]);
    }

    /// <summary>Deletes the lease if <paramref name="token"/> still holds it; true when it did.</summary>
    public async Task<bool> ReleaseAsync(string token, CancellationToken ct = default) =>
        (long)await scripts.RunAsync("janitor-lease-release", LeaseScripts.Release, [keys.JanitorLease], [token], idempotent: true, ct)
            .ConfigureAwait(false) == 1;
}
