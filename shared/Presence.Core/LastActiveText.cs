using System.Globalization;

namespace Presence.Core;

/// <summary>
/// The one place the "how long ago" text is made (<c>lastActiveAgo</c>): the board, single and batch
/// lookups all call it, so every client shows the same words for the same instant.
/// </summary>
public static class LastActiveText
{
    public const string JustNow = "just now";

    /// <summary><c>just now</c> under a minute, <c>Nm ago</c> under an hour, else <c>Nh ago</c> (whole units, rounded down).</summary>
    public static string Format(TimeSpan elapsed)
    {
        // A last-seen score written by a replica whose clock runs slightly ahead is not "in the future" to a reader.
        if (elapsed < TimeSpan.FromMinutes(1))
        {
            return JustNow;
        }

        return elapsed < TimeSpan.FromHours(1)
            ? string.Create(CultureInfo.InvariantCulture, $"{(long)elapsed.TotalMinutes}m ago")
            : string.Create(CultureInfo.InvariantCulture, $"{(long)elapsed.TotalHours}h ago");
    }

    public static string Format(DateTimeOffset lastActive, DateTimeOffset now) => Format(now - lastActive);
}
