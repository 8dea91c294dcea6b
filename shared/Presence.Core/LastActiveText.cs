using System.Globalization;

namespace Presence.Core;

/// <summary>
/// The one place the "how long ago" text is made (<c>lastActiveAgo</c>): the board, single and batch
/// lookups all call it, so every client shows the same words for the same instant.
/// </summary>
public static class LastActiveText
{
    public const string JustNow = "just now";

    // A board of 100k users makes 100k texts; they are drawn from these few, made once.
    private static readonly string[] Minutes = [.. Enumerable.Range(0, 60).Select(m => string.Create(CultureInfo.InvariantCulture, $"{m}m ago"))];
    private static readonly string[] Hours = [.. Enumerable.Range(0, 73).Select(h => string.Create(CultureInfo.InvariantCulture, $"{h}h ago"))];

    /// <summary><c>just now</c> under a minute, <c>Nm ago</c> under an hour, else <c>Nh ago</c> (whole units, rounded down).</summary>
    public static string Format(TimeSpan elapsed)
    {
        // A last-seen score written by a replica whose clock runs slightly ahead is not "in the future" to a reader.
        if (elapsed < TimeSpan.FromMinutes(1))
        {
            return JustNow;
        }

        if (elapsed < TimeSpan.FromHours(1))
        {
            return Minutes[(int)elapsed.TotalMinutes];
        }

        var hours = (long)elapsed.TotalHours;
        return hours < Hours.Length ? Hours[hours] : string.Create(CultureInfo.InvariantCulture, $"{hours}h ago");
    }

    public static string Format(DateTimeOffset lastActive, DateTimeOffset now) => Format(now - lastActive);
}
