namespace Presence.Core;

/// <summary>
/// The one set of tag names of the <c>presence.*</c> instruments and of the spans' attributes
/// (docs/architecture.md, "Names"): lower-case, snake_case, a dot only to group (<c>board.online</c>). Metric tags
/// are Prometheus labels that the k8s rules, dashboards and KEDA queries read, so spans use these same names.
/// </summary>
public static class PresenceTags
{
    /// <summary><c>therapist</c> or <c>community</c> (<see cref="Roles.Name"/>).</summary>
    public const string Role = "role";

    /// <summary><c>rest</c> or <c>hub</c> (<see cref="PresenceNames.Name(HeartbeatTransport)"/>).</summary>
    public const string Transport = "transport";

    /// <summary>What a call came to (<c>accepted</c>, <c>throttled</c>, <c>removed</c>, ...).</summary>
    public const string Outcome = "outcome";

    /// <summary>A presence event's status.</summary>
    public const string Status = "status";

    /// <summary>Where a transition came from.</summary>
    public const string Source = "source";

    /// <summary>A count's bucket: <c>online</c>, <c>recent</c>, <c>available</c>.</summary>
    public const string Bucket = "bucket";

    /// <summary>What a sweep removed.</summary>
    public const string Kind = "kind";

    /// <summary>A cache lookup's <c>hit</c> or <c>miss</c>.</summary>
    public const string Result = "result";

    /// <summary>A Redis error's class.</summary>
    public const string Class = "class";

    /// <summary>The background loop a Redis error stopped.</summary>
    public const string Loop = "loop";

    /// <summary>The Redis operation that failed.</summary>
    public const string Operation = "operation";

    /// <summary>A notification's channel.</summary>
    public const string Channel = "channel";

    /// <summary>A hub method.</summary>
    public const string Method = "method";

    /// <summary>A cached resource.</summary>
    public const string Resource = "resource";

    /// <summary>Which interval rule advertised a heartbeat interval: <c>hidden</c>, <c>watched</c>, <c>plain</c>.</summary>
    public const string Rule = "rule";

    /// <summary>Whether the advertised interval was stretched for load.</summary>
    public const string Shedding = "shedding";

    /// <summary>A leader lease change: acquired, lost, ...</summary>
    public const string Change = "change";

    /// <summary>Span: the therapist a notification is about.</summary>
    public const string Therapist = "therapist";

    /// <summary>Span: whether the heartbeat brought the user online.</summary>
    public const string CameOnline = "came_online";

    /// <summary>Span: how a sign-off ended the session.</summary>
    public const string SessionEnd = "session_end";

    /// <summary>Span: the availability asked for.</summary>
    public const string Available = "available";

    /// <summary>Span: whether the write changed anything.</summary>
    public const string Changed = "changed";

    /// <summary>Span: events in a consumed batch.</summary>
    public const string Events = "events";

    /// <summary>Span: users a notification went to.</summary>
    public const string NotifyCandidates = "notify.candidates";

    /// <summary>Span: ids in a watch list.</summary>
    public const string WatchlistCount = "watchlist.count";

    /// <summary>Span: the board's online count.</summary>
    public const string BoardOnline = "board.online";

    /// <summary>Span: the board's recent count.</summary>
    public const string BoardRecent = "board.recent";

    /// <summary>Span: the board's available count.</summary>
    public const string BoardAvailable = "board.available";

    /// <summary>Span: whether the board changed since the last build.</summary>
    public const string BoardChanged = "board.changed";
}
