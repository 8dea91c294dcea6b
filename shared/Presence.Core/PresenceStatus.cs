namespace Presence.Core;

/// <summary>The buckets a reader sorts users into (docs/architecture.md, "Buckets"), in board order.</summary>
public enum PresenceStatus
{
    Online,
    Recent,
    Available,
    Offline,
}

/// <summary>The <c>status</c> field of a state event (docs/architecture.md, "Events").</summary>
public static class PresenceEventStatus
{
    public const string Online = "online";
    public const string Recent = "recent";
    public const string Offline = "offline";

    public static bool IsKnown(string? status) => status is Online or Recent or Offline;
}

/// <summary>The <c>reason</c> field of a state event: what caused the transition (docs/architecture.md, "Reasons").</summary>
public static class PresenceReason
{
    public const string Heartbeat = "heartbeat";
    public const string Join = "join";
    public const string SignOff = "signoff";
    public const string Timeout = "timeout";
    public const string LostInstance = "lost-instance";
    public const string WindowEnded = "window-ended";
    public const string Set = "set";
    public const string Expired = "expired";

    public static readonly IReadOnlyList<string> All = [Heartbeat, Join, SignOff, Timeout, LostInstance, WindowEnded, Set, Expired];

    public static bool IsKnown(string? reason) => reason is not null && All.Contains(reason, StringComparer.Ordinal);
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
