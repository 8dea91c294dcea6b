using System.Diagnostics.CodeAnalysis;
using Presence.Core;

namespace Presence.StatusQuery.Features;

/// <summary>
/// One user's status on the wire: the board's entries, the batch lookup's users and (with the role) the single
/// lookup share this shape, and <see cref="From"/> is the one mapping from a reader's entry to it.
/// </summary>
public class PresenceView
{
    public required string Id { get; init; }

    /// <summary><c>online</c>, <c>recent</c>, <c>available</c> or <c>offline</c>.</summary>
    public required string Status { get; init; }

    public required bool Available { get; init; }

    /// <summary>Last activity; null once the user's last-seen entry is past its retention (or never existed).</summary>
    public required DateTimeOffset? LastActive { get; init; }

    /// <summary><c>just now</c>, <c>5m ago</c>, <c>1h ago</c> (server-computed, the same rules everywhere).</summary>
    public required string? LastActiveAgo { get; init; }

    /// <summary>The explicit end of the availability, when the therapist gave one.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? AvailableUntil { get; init; }

    /// <summary>The therapist's allow-listed specialties (empty when none).</summary>
    public IReadOnlyList<string> Specialties { get; init; } = [];

    /// <summary>The version of the user's latest event (docs/architecture.md, "Versions"); a push below it is older than this answer.</summary>
    public long Ver { get; init; }

    public PresenceView()
    {
    }

    /// <summary>The one mapping from a reader's entry to the wire (derived views add their own fields).</summary>
    [SetsRequiredMembers]
    public PresenceView(PresenceEntry entry)
    {
        Id = entry.Id;
        Status = entry.Status.Name();
        Available = entry.Available;
        LastActive = entry.LastActive;
        LastActiveAgo = entry.LastActiveAgo;
        AvailableUntil = entry.AvailableUntil;
        Specialties = entry.Specialties ?? [];
        Ver = entry.Ver;
    }

    public static PresenceView From(PresenceEntry entry) => new(entry);
}

/// <summary>The bucket windows the answer was computed with, so a client can explain them.</summary>
public sealed class ThresholdsView
{
    public required int OnlineSeconds { get; init; }

    public required int RecentSeconds { get; init; }

    public static ThresholdsView From(PresenceOptions o) => new()
    {
        OnlineSeconds = (int)o.OnlineWindow.TotalSeconds,
        RecentSeconds = (int)o.RecentWindow.TotalSeconds,
    };
}

/// <summary>Users per bucket (docs/architecture.md, "Buckets"); <see cref="Available"/> is the bucket, not the flag.</summary>
public sealed class CountsView
{
    public required int Online { get; init; }

    public required int Recent { get; init; }

    public required int Available { get; init; }

    public static CountsView From(PresenceCounts c) => new() { Online = c.Online, Recent = c.Recent, Available = c.Available };
}
