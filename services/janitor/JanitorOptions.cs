using Microsoft.Extensions.Options;

namespace Presence.Janitor;

/// <summary>The janitor's own settings (section <c>Janitor</c>), validated at start-up.</summary>
public sealed class JanitorOptions
{
    public const string Section = "Janitor";

    /// <summary>
    /// How often the leader runs a whole sweep (every kind); an empty one is a few O(log N) range reads. Between two,
    /// it wakes when the first online-until passes and settles the online index alone (no sooner than a tenth of this
    /// after the last sweep), so a user is reported offline within tens of milliseconds (docs/benchmarks.md).
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Members handled by one script call. Bounds the longest Redis command the sweep issues.</summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>Batches per shard, role and kind in one tick (shards are swept at once, each bounded on its own), so a backlog (after an outage) is worked off over a few ticks.</summary>
    public int MaxBatchesPerTick { get; set; } = 100;

    /// <summary>
    /// Sessions of lapsed gateway instances ended in one tick, all instances together (pipelined in batches of 256).
    /// Bounds the time a dead gateway adds to a tick, so other users' transitions are never more than one tick late.
    /// </summary>
    public int MaxLostSessionsPerTick { get; set; } = 2000;

    /// <summary>
    /// Lifetime of the leader lease (<c>presence:janitor:lease</c>). The leader renews it every third of this;
    /// a follower takes over within this long after the leader dies.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait between sweeps while Redis keeps failing (backoff doubles from the sweep interval).</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Set <c>notify-keyspace-events</c> on the server when it lacks <c>Ex</c>. Off by default: managed Redis
    /// forbids <c>CONFIG</c>, and the setting belongs to whoever runs the server.
    /// </summary>
    public bool ConfigureKeyspaceEvents { get; set; }

    /// <summary>The leader renews this often: two renewals may fail before its lease lapses.</summary>
    public TimeSpan RenewInterval => LeaseDuration / 3;
}

public sealed class JanitorOptionsValidator : IValidateOptions<JanitorOptions>
{
    public ValidateOptionsResult Validate(string? name, JanitorOptions o)
    {
        var errors = new List<string>();
        if (o.SweepInterval <= TimeSpan.Zero)
        {
            errors.Add("Janitor:SweepInterval must be positive.");
        }

        // Beyond a few thousand members one script call takes milliseconds and blocks every other client.
        if (o.BatchSize is < 1 or > 5000)
        {
            errors.Add("Janitor:BatchSize must be between 1 and 5000.");
        }

        if (o.MaxBatchesPerTick < 1)
        {
            errors.Add("Janitor:MaxBatchesPerTick must be at least 1.");
        }

        if (o.MaxLostSessionsPerTick < 1)
        {
            errors.Add("Janitor:MaxLostSessionsPerTick must be at least 1.");
        }

        if (o.LeaseDuration < TimeSpan.FromMilliseconds(100))
        {
            errors.Add("Janitor:LeaseDuration must be at least 100 ms.");
        }

        if (o.MaxBackoff < o.SweepInterval)
        {
            errors.Add("Janitor:MaxBackoff must not be shorter than Janitor:SweepInterval.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
