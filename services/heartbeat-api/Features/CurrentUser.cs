using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;
using Presence.Core;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi.Features;

internal static class CurrentUser
{
    public const string InvalidSubject = "The token's sub claim is not a valid user id (" + UserId.Pattern + ").";

    /// <summary>The REST paths name roles in the plural, as the seed's frontend does.</summary>
    public static string RouteSegment(this Role role) => role == Role.Therapist ? "therapists" : role.Name();

    /// <summary>The caller's id, always from the token (never the body), and only if it could be a key.</summary>
    public static bool TryGetUserId(this ClaimsPrincipal user, [NotNullWhen(true)] out string? id)
    {
        id = user.FindFirstValue(PresenceClaims.Subject);
        return UserId.IsValid(id);
    }
}
