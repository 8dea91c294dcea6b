using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Presence.Core;

/// <summary>
/// A user id that may reach a Redis key (<see cref="Pattern"/>), parsed once at the edge with <see cref="TryParse"/>
/// (docs/architecture.md, "Names"). It converts to the string Core's methods take; the static <see cref="IsValid"/>
/// and <see cref="EnsureValid"/> check ids that still travel as strings (devices, connections, stream fields).
/// </summary>
public readonly partial record struct UserId
{
    public const int MaxLength = 128;
    public const string Pattern = @"^[A-Za-z0-9_.@-]{1,128}\z";

    private UserId(string value) => Value = value;

    /// <summary>The id as sent and stored; null only in <c>default(UserId)</c>, which no parse returns.</summary>
    public string Value { get; }

    /// <summary>The id if <paramref name="value"/> matches <see cref="Pattern"/>, else false and <c>default</c>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out UserId id)
    {
        id = IsValid(value) ? new UserId(value) : default;
        return id.Value is not null;
    }

    public static implicit operator string(UserId id) => id.Value;

    public override string ToString() => Value;

    public static bool IsValid([NotNullWhen(true)] string? id) => id is not null && ValidId().IsMatch(id);

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
