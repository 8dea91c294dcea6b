using Microsoft.Extensions.Options;

namespace Presence.Janitor.Engagement;

/// <summary>The janitor's engagement consumers (section <c>Engagement</c>), validated at start-up.</summary>
public sealed class EngagementOptions
{
    public const string Section = "Engagement";

    /// <summary>
    /// Run the notifier and analytics consumer groups on the state-event streams (the janitor leader does). On by
    /// default; off only to run a janitor that neither notifies nor folds analytics.
    /// </summary>
    public bool ConsumeStreams { get; set; } = true;

    /// <summary>How long the leader waits between reads when the streams had nothing new.</summary>
    public TimeSpan PollDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Entries read per stream and group in one call.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>How often the leader adds the therapists online and available now to the hour's coverage (one board read).</summary>
    public TimeSpan CoverageSampleInterval { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class EngagementOptionsValidator : IValidateOptions<EngagementOptions>
{
    public ValidateOptionsResult Validate(string? name, EngagementOptions o) =>
        o.PollDelay <= TimeSpan.Zero || o.BatchSize is < 1 or > 10_000 || o.CoverageSampleInterval < TimeSpan.FromSeconds(10) || o.CoverageSampleInterval > TimeSpan.FromMinutes(30)
            ? ValidateOptionsResult.Fail("Engagement:PollDelay must be positive, Engagement:BatchSize 1-10000, Engagement:CoverageSampleInterval 10 s-30 min.")
            : ValidateOptionsResult.Success;
}
