using Presence.Janitor.Sweeping;

namespace Presence.Janitor.Tests;

public sealed class JanitorOptionsTests
{
    [Fact]
    public void The_defaults_are_valid_and_nonsense_is_refused_at_start()
    {
        var validator = new JanitorOptionsValidator();
        Assert.True(validator.Validate(null, new JanitorOptions()).Succeeded);

        var bad = validator.Validate(null, new JanitorOptions
        {
            SweepInterval = TimeSpan.Zero,
            BatchSize = 100_000,
            MaxBatchesPerTick = 0,
            MaxLostSessionsPerTick = 0,
            LeaseDuration = TimeSpan.FromMilliseconds(10),
        });

        Assert.False(bad.Succeeded);
        Assert.Equal(
            ["Janitor:SweepInterval", "Janitor:BatchSize", "Janitor:MaxBatchesPerTick", "Janitor:MaxLostSessionsPerTick", "Janitor:LeaseDuration"],
            bad.Failures!.Select(f => f[..f.IndexOf(' ', StringComparison.Ordinal)]));
    }

    [Fact]
    public void Sweep_backoff_doubles_from_the_interval_up_to_the_cap()
    {
        var o = new JanitorOptions { SweepInterval = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(10) };

        Assert.Equal(
            [1, 2, 4, 8, 10, 10],
            Enumerable.Range(1, 6).Select(n => SweepWorker.Backoff(o, n).TotalSeconds));
        Assert.Equal(TimeSpan.FromSeconds(10), SweepWorker.Backoff(o, 1000));
    }
}
