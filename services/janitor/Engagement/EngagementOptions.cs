using Microsoft.Extensions.Options;

namespace Presence.Janitor.Engagement;

/// <summary>The janitor's engagement consumers (section <c>Engagement</c>), validated at start-up.</summary>
public sealed class EngagementOptions
{
    public const string Section = "Engagement";

    /// <summary>
    /// Run the notifier and analytics consumer groups on the state-event streams. Off until the streams carry the
    /// versioned state events (entries without <c>ver</c> are acknowledged and skipped).
    /// </summary>
    public bool ConsumeStreams { get; set; }

    /// <summary>How long the leader waits between reads when the streams had nothing new.</summary>
    public TimeSpan PollDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Entries read per stream and group in one call.</summary>
    public int BatchSize { get; set; } = 100;
}

public sealed class EngagementOptionsValidator : IValidateOptions<EngagementOptions>
{
    public ValidateOptionsResult Validate(string? name, EngagementOptions o) =>
        o.PollDelay <= TimeSpan.Zero || o.BatchSize is < 1 or > 10_000
            ? ValidateOptionsResult.Fail("Engagement:PollDelay must be positive and Engagement:BatchSize 1-10000.")
            : ValidateOptionsResult.Success;
}
