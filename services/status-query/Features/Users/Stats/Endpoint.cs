using FastEndpoints;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.StatusQuery.Features.Board;

namespace Presence.StatusQuery.Features.Users.Stats;

/// <summary>
/// <c>GET /v1/presence/stats</c>: bucket counts per role (docs/architecture.md, "Buckets": its available is the bucket,
/// not every flagged therapist), by score counts (no member is read but the available set).
/// </summary>
public sealed class StatsEndpoint(
    PresenceReader reader,
    IOptionsMonitor<PresenceOptions> presenceOptions,
    IOptionsMonitor<StatusQueryOptions> options,
    TimeProvider time) : EndpointWithoutRequest<StatsResponse>
{
    public override void Configure()
    {
        Get("/v1/presence/stats");
        AllowAnonymous();
        Options(b => b.CacheOutput(new PublicReadCachePolicy("stats")));
        Description(b => b.ProducesProblemDetails(503));
        Summary(s => s.Summary = "How many users of each role are online, recent and available.");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var generatedAt = time.GetUtcNow();
        var counts = await Task.WhenAll(global::Presence.Core.Roles.All.Select(r => reader.CountAsync(r, ct)));
        var roles = new Dictionary<string, CountsView>(StringComparer.Ordinal);
        for (var i = 0; i < counts.Length; i++)
        {
            roles[global::Presence.Core.Roles.All[i].Name()] = CountsView.From(counts[i]);
        }

        HttpContext.Response.Headers.CacheControl = options.CurrentValue.PublicCacheControl;
        await Send.OkAsync(new StatsResponse
        {
            GeneratedAt = generatedAt,
            Thresholds = ThresholdsView.From(presenceOptions.CurrentValue),
            Roles = roles,
        }, ct);
    }
}
