using System.Diagnostics.CodeAnalysis;

namespace Presence.Core;

/// <summary>Who a user is on the platform. Adding a role is one line here and one in <see cref="Roles.All"/>.</summary>
public enum Role
{
    Therapist,
    Community,
}

public static class Roles
{
    public static readonly IReadOnlyList<Role> All = [Role.Therapist, Role.Community];

    /// <summary>The singular name: the JWT <c>role</c> claim, the hash tag in keys, the <c>{role}</c> route value and events.</summary>
    public static string Name(this Role role) => role switch
    {
        Role.Therapist => "therapist",
        Role.Community => "community",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    public static bool TryParse(string? value, [NotNullWhen(true)] out Role? role)
    {
        role = value switch
        {
            "therapist" => Role.Therapist,
            "community" => Role.Community,
            _ => null,
        };
        return role is not null;
    }
}
