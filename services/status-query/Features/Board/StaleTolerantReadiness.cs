using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Presence.StatusQuery.Features.Board;

/// <summary>
/// Readiness of status-query. Redis down is Degraded in every service (still ready: each answers a fast 503
/// problem with Retry-After; docs/operations.md, "Readiness"); here, once a board has been read, the reason says
/// the last good board is served, marked stale.
/// </summary>
internal sealed class StaleTolerantReadiness(IHealthCheck redis, BoardCache board) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = await redis.CheckHealthAsync(context, cancellationToken).ConfigureAwait(false);
        return result.Status == HealthStatus.Healthy || !board.HasLastGood
            ? result
            : HealthCheckResult.Degraded("Redis is unreachable; serving the last good board marked stale.", result.Exception);
    }
}
