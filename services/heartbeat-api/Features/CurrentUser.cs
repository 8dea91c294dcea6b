using Presence.Core;

namespace Presence.HeartbeatApi.Features;

internal static class CurrentUser
{
    public const string InvalidSubject = "The token's sub claim is not a valid user id (" + UserId.Pattern + ").";

    /// <summary>The REST paths name roles in the plural, as the seed's frontend does.</summary>
    public static string RouteSegment(this PresenceRole role) => role == PresenceRole.Therapist ? "therapists" : role.Name();

}
