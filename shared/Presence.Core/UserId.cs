using System.Text.RegularExpressions;

namespace Presence.Core;

/// <summary>User ids reach Redis keys, so they are checked before anything else touches them.</summary>
public static partial class UserId
{
    public const int MaxLength = 128;
    public const string Pattern = @"^[A-Za-z0-9_.@-]{1,128}\z";

    public static bool IsValid(string? id) => id is not null && ValidId().IsMatch(id);

    /// <summary>The last guard before a key: callers validate and answer 400 first; this only stops a bug.</summary>
    public static void EnsureValid(string userId)
    {
        if (!IsValid(userId))
        {
            throw new ArgumentException("The user id does not match " + Pattern + ".", nameof(userId));
        }
    }

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex ValidId();
}
