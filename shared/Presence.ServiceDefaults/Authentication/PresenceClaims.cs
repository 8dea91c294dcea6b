using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;
using Presence.Core;

namespace Presence.ServiceDefaults;

/// <summary>The claims Presence reads from a token, and the one way every service reads the caller from them.</summary>
public static class PresenceClaims
{
    public const string Subject = "sub";
    public const string Role = "role";

    /// <summary>The authenticated caller's <c>sub</c> as issued (not checked as an id: for limits and logs); null when anonymous.</summary>
    public static string? SubjectOf(this ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true ? user.FindFirstValue(Subject) : null;

    /// <summary>The authenticated caller's <c>role</c> claim as issued; null when anonymous or absent.</summary>
    public static string? RoleOf(this ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true ? user.FindFirstValue(Role) : null;

    /// <summary>The caller's id, always from the token (never a body), parsed here: only an id that could be a key.</summary>
    public static bool TryGetUserId(this ClaimsPrincipal? user, out UserId id) => UserId.TryParse(user.SubjectOf(), out id);

    /// <summary>The caller's id and role, both valid: what a hub connection or a REST write acts as.</summary>
    public static bool TryGetUser(this ClaimsPrincipal? user, [NotNullWhen(true)] out PresenceRole? role, out UserId id)
    {
        role = null;
        if (!user.TryGetUserId(out id) || !Roles.TryParse(user.RoleOf(), out role))
        {
            id = default;
            return false;
        }

        return true;
    }
}
