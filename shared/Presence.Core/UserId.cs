using System.Text.RegularExpressions;

namespace Presence.Core;

/// <summary>User ids reach Redis keys, so they are checked before anything else touches them.</summary>
public static partial class UserId
{
    public const int MaxLength = 128;
    public const string Pattern = "^[A-Za-z0-9_.@-]{1,128}$";

    public static bool IsValid(string? id) => id is not null && ValidId().IsMatch(id);

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex ValidId();
}
