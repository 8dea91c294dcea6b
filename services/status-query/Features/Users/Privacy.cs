using System.Security.Claims;
using Presence.Core;
using Presence.ServiceDefaults;

namespace Presence.StatusQuery.Features.Users;

internal enum Visibility
{
    Visible,
    NeedsToken,
    Forbidden,
}

/// <summary>
/// docs/architecture.md, "Privacy": therapist statuses are public; a community user's status is visible to that user and to
/// therapists. The decision depends only on who asks and whom they name, never on whether that user exists,
/// so a refusal cannot tell anyone that an id is known.
/// </summary>
internal static class Privacy
{
    public static Visibility Of(ClaimsPrincipal caller, PresenceRole role, UserId id)
    {
        if (role == PresenceRole.Therapist)
        {
            return Visibility.Visible;
        }

        if (caller.Identity?.IsAuthenticated != true)
        {
            return Visibility.NeedsToken;
        }

        var callerRole = caller.RoleOf();
        if (callerRole == PresenceRole.Therapist.Name())
        {
            return Visibility.Visible;
        }

        return callerRole == role.Name() && string.Equals(caller.SubjectOf(), id, StringComparison.Ordinal)
            ? Visibility.Visible
            : Visibility.Forbidden;
    }
}
