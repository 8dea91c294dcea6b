using System.Diagnostics.CodeAnalysis;

namespace Presence.Core;

/// <summary>Who a user is on the platform. Adding a role is one line here and one in <see cref="Roles.All"/>.</summary>
public enum PresenceRole
{
    Therapist,
    Community,
}

public static class Roles
{
    public static readonly IReadOnlyList<PresenceRole> All = [PresenceRole.Therapist, PresenceRole.Community];

    /// <summary>The singular name: the JWT <c>role</c> claim, the hash tag in keys, the <c>{role}</c> route value and events.</summary>
    public static string Name(this PresenceRole role) => role switch
    {
        PresenceRole.Therapist => "therapist",
        PresenceRole.Community => "community",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    public static bool TryParse(string? value, [NotNullWhen(true)] out PresenceRole? role)
    {
        role = value switch
        {
            "therapist" => PresenceRole.Therapist,
            "community" => PresenceRole.Community,
            _ => null,
        };
        return role is not null;
    }
}
