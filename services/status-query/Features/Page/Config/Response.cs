namespace Presence.StatusQuery.Features.Page.Config;

public sealed class PageConfigResponse
{
    public required int PollSeconds { get; init; }

    /// <summary>The realtime gateway's hub URL, or null when none is configured (the page then only polls).</summary>
    public required string? HubUrl { get; init; }

    public required string BoardUrl { get; init; }
}
