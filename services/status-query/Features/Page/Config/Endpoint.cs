using FastEndpoints;
using Microsoft.Extensions.Options;
using Presence.ServiceDefaults;
using Presence.StatusQuery.Features.Board.Realtime;

namespace Presence.StatusQuery.Features.Page.Config;

/// <summary><c>GET /v1/board/config</c>: what the board page at <c>/</c> needs from configuration (it has no build step).</summary>
public sealed class PageConfigEndpoint(IOptionsMonitor<StatusQueryOptions> options) : EndpointWithoutRequest<PageConfigResponse>
{
    public const string HubPath = HubPaths.Presence;

    public override void Configure()
    {
        Get("/v1/board/config");
        AllowAnonymous();
        Summary(s => s.Summary = "Settings of the status board page: poll interval and the realtime gateway's hub URL.");
    }

    public override Task HandleAsync(CancellationToken ct)
    {
        var o = options.CurrentValue;
        HttpContext.Response.Headers.CacheControl = "no-cache";
        return Send.OkAsync(new PageConfigResponse
        {
            PollSeconds = (int)Math.Ceiling(o.PagePollInterval.TotalSeconds),
            HubUrl = string.IsNullOrEmpty(o.GatewayUrl) ? null : o.GatewayUrl.TrimEnd('/') + HubPath,
            BoardUrl = BoardEndpoint.Route,
            // The output cache and the board snapshot may each hold the old board for one refresh interval.
            RefreshAfterPushSeconds = (int)Math.Ceiling(2 * o.BoardRefreshInterval.TotalSeconds) + 1,
        }, ct);
    }
}
