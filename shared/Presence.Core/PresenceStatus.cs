namespace Presence.Core;

/// <summary>The buckets of DESIGN.md §1, in board order.</summary>
public enum PresenceStatus
{
    Online,
    Recent,
    Available,
    Offline,
}

/// <summary>The <c>status</c> field of a transition in a role's event stream.</summary>
public static class PresenceEventStatus
{
    public const string Online = "online";
    public const string Recent = "recent";
    public const string Available = "available";
    public const string Unavailable = "unavailable";
}

public enum HeartbeatTransport
{
    Rest,
    Hub,
}

public static class PresenceNames
{
    public static string Name(this PresenceStatus status) => status switch
    {
        PresenceStatus.Online => "online",
        PresenceStatus.Recent => "recent",
        PresenceStatus.Available => "available",
        _ => "offline",
    };

    public static string Name(this HeartbeatTransport transport) => transport == HeartbeatTransport.Hub ? "hub" : "rest";
}
