using Microsoft.Extensions.Options;

namespace Presence.Core;

/// <summary>The windows and limits of the model (section <c>Presence</c>; docs/architecture.md, "Windows"), validated at start-up.</summary>
public sealed class PresenceOptions
{
    public const string Section = "Presence";

    /// <summary>The shard count when none is configured.</summary>
    public const int DefaultShards = 16;

    /// <summary>The most shards a role may be spread over (two-digit shard numbers in the hash tags).</summary>
    public const int MaxShards = 100;

    /// <summary>What a therapist may list as specialties when no allow-list is configured.</summary>
    public static readonly IReadOnlyList<string> DefaultSpecialties =
    [
        "addiction", "adolescents", "anxiety", "couples", "depression", "eating-disorders", "family", "grief",
        "lgbtq", "ocd", "ptsd", "sleep", "stress", "trauma",
    ];

    /// <summary>A heartbeat keeps a user online this long.</summary>
    public TimeSpan OnlineWindow { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>After the last activity a user counts as recent this long.</summary>
    public TimeSpan RecentWindow { get; set; } = TimeSpan.FromSeconds(3600);

    /// <summary>How long a user's last-seen entry and hash are kept after the last activity.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The interval the server advertises to clients (<c>nextHeartbeatSeconds</c>).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A second REST heartbeat from the same user sooner than this is refused with 429.</summary>
    public TimeSpan MinHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A hub connection with no heartbeat for this long is removed.</summary>
    public TimeSpan StaleConnection { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// A realtime-gateway instance renews a lease this long (every third of it); when it lapses (pod
    /// killed) the janitor treats the instance's connections as gone.
    /// </summary>
    public TimeSpan InstanceLease { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// After the last session ends by sign-off or close, the user stays online this long; a heartbeat or connection
    /// inside it cancels the leave and nothing is emitted (a page reload is never seen). Zero: leave at once.
    /// </summary>
    public TimeSpan LeaveGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Availability lapses this long after it was last set or renewed (a PUT, or a heartbeat with <c>available: true</c>).</summary>
    public TimeSpan AvailabilityTtl { get; set; } = TimeSpan.FromHours(12);

    /// <summary>Allowed therapist specialties; unset: <see cref="DefaultSpecialties"/>.</summary>
    public string[]? Specialties { get; set; }

    /// <summary>Most specialties one therapist may list.</summary>
    public int MaxSpecialties { get; set; } = 8;

    /// <summary>A client timestamp further off than this is reported as <c>clockSkewSeconds</c>.</summary>
    public TimeSpan ClockSkewReportThreshold { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>First segment of every key; tests and shared Redis servers use their own.</summary>
    public string KeyPrefix { get; set; } = "presence";

    /// <summary>
    /// How many shards (hash tags, so Redis Cluster slots) each role is spread over (docs/architecture.md, "Shards").
    /// Fixed for a deployment: a user's keys live in the shard its id hashes to, so changing it strands existing state.
    /// </summary>
    public int Shards { get; set; } = DefaultShards;

    /// <summary>Approximate cap (<c>MAXLEN ~</c>) of each shard's event stream.</summary>
    public int EventStreamMaxLength { get; set; } = 10_000;

    public IReadOnlyList<string> EffectiveSpecialties => Specialties is { Length: > 0 } configured ? configured : DefaultSpecialties;

    /// <summary>
    /// Checks requested specialties against the allow-list; returns the distinct list, or null with an error message.
    /// </summary>
    public string[]? ValidSpecialties(IReadOnlyList<string?>? requested, out string? error)
    {
        error = null;
        if (requested is null || requested.Count == 0)
        {
            return [];
        }

        var distinct = requested.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length > MaxSpecialties)
        {
            error = $"At most {MaxSpecialties.ToString(System.Globalization.CultureInfo.InvariantCulture)} specialties may be listed.";
            return null;
        }

        var allowed = EffectiveSpecialties;
        if (distinct.Any(s => s is null || !allowed.Contains(s, StringComparer.Ordinal)))
        {
            error = "Unknown specialty; allowed: " + string.Join(", ", allowed) + ".";
            return null;
        }

        return distinct!;
    }

    /// <summary>The advertised interval in whole seconds (<c>nextHeartbeatSeconds</c>), the same over REST and the hub.</summary>
    public int NextHeartbeatSeconds => (int)HeartbeatInterval.TotalSeconds;

    /// <summary>
    /// The <c>clockSkewSeconds</c> to report for a client timestamp (client minus server, whole seconds), or null when
    /// none was sent or it is within <see cref="ClockSkewReportThreshold"/>. The client time is never used for ordering.
    /// </summary>
    public double? ClockSkewSeconds(DateTimeOffset? clientTime, DateTimeOffset serverTime) =>
        clientTime is { } client && (client - serverTime).Duration() > ClockSkewReportThreshold
            ? Math.Round((client - serverTime).TotalSeconds)
            : null;
}

public sealed class PresenceOptionsValidator : IValidateOptions<PresenceOptions>
{
    public ValidateOptionsResult Validate(string? name, PresenceOptions o)
    {
        var errors = new OptionsErrors(PresenceOptions.Section);
        errors.Positive(o.OnlineWindow, nameof(o.OnlineWindow));
        errors.Positive(o.RecentWindow, nameof(o.RecentWindow));
        errors.Positive(o.Retention, nameof(o.Retention));
        errors.Positive(o.HeartbeatInterval, nameof(o.HeartbeatInterval));
        errors.Positive(o.MinHeartbeatInterval, nameof(o.MinHeartbeatInterval));
        errors.Positive(o.StaleConnection, nameof(o.StaleConnection));
        errors.Positive(o.ClockSkewReportThreshold, nameof(o.ClockSkewReportThreshold));
        errors.Positive(o.InstanceLease, nameof(o.InstanceLease));
        errors.Positive(o.AvailabilityTtl, nameof(o.AvailabilityTtl));
        if (o.LeaveGrace < TimeSpan.Zero || o.LeaveGrace >= o.RecentWindow)
        {
            errors.Add("Presence:LeaveGrace must be zero or more and shorter than Presence:RecentWindow.");
        }

        if (o.AvailabilityTtl > o.Retention)
        {
            errors.Add("Presence:AvailabilityTtl must not exceed Presence:Retention.");
        }

        if (o.MaxSpecialties < 0)
        {
            errors.Add("Presence:MaxSpecialties must be zero or more.");
        }

        foreach (var specialty in o.Specialties ?? [])
        {
            if (specialty is null || specialty.Length is 0 or > 32 || !specialty.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                errors.Add($"Presence:Specialties entry '{specialty}' must match [a-z0-9-]{{1,32}}.");
            }
        }
        if (o.OnlineWindow >= o.RecentWindow)
        {
            errors.Add("Presence:OnlineWindow must be shorter than Presence:RecentWindow.");
        }

        if (o.RecentWindow > o.Retention)
        {
            errors.Add("Presence:RecentWindow must not exceed Presence:Retention.");
        }

        if (o.MinHeartbeatInterval >= o.HeartbeatInterval)
        {
            errors.Add("Presence:MinHeartbeatInterval must be shorter than Presence:HeartbeatInterval.");
        }

        if (o.HeartbeatInterval >= o.OnlineWindow)
        {
            errors.Add("Presence:HeartbeatInterval must be shorter than Presence:OnlineWindow, or users flicker offline between heartbeats.");
        }

        if (string.IsNullOrWhiteSpace(o.KeyPrefix) || o.KeyPrefix.AsSpan().ContainsAny('{', '}', ' '))
        {
            errors.Add("Presence:KeyPrefix must be non-empty and hold no braces or spaces.");
        }

        if (o.Shards is < 1 or > PresenceOptions.MaxShards)
        {
            errors.Add($"Presence:Shards must be 1 to {PresenceOptions.MaxShards} (was {o.Shards}); it is fixed for a deployment.");
        }

        if (o.EventStreamMaxLength < 100)
        {
            errors.Add("Presence:EventStreamMaxLength must be at least 100.");
        }

        return errors.Result;
    }
}
