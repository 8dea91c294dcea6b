namespace Presence.StatusQuery.Features.Page.Config;

public sealed class PageConfigResponse
{
    public required int PollSeconds { get; init; }

    /// <summary>The realtime gateway's hub URL, or null when none is configured (the page then only polls).</summary>
    public required string? HubUrl { get; init; }

    public required string BoardUrl { get; init; }

    /// <summary>After a push the page re-reads the board this much later, once the server's caches hold the change.</summary>
    public required int RefreshAfterPushSeconds { get; init; }
}
