namespace Presence.Janitor.Notifications;

/// <summary>
/// What the notifier needs of a therapist's state event: the notifier's own input type, so the event stream's
/// consumer only maps its typed event onto it.
/// </summary>
/// <param name="Status"><c>online</c>, <c>recent</c> or <c>offline</c>.</param>
/// <param name="At">When the state changed (unix ms).</param>
/// <param name="Ver">The therapist's state version: with the id it makes the stable event id.</param>
public sealed record TherapistStateChanged(string TherapistId, string Status, bool Available, long At, long Ver)
{
    /// <summary>Only "became online or available" is worth a note.</summary>
    public bool IsReachable => Available || Status == "online";
}
