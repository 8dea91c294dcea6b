using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Presence.StatusQuery.Board;

/// <summary>
/// Readiness of status-query. Other services are unready without Redis (docs/architecture.md, "Failure behaviour"), but this one keeps a
/// useful answer during an outage: the last good board, marked stale (docs/architecture.md, "Failure behaviour"). If Redis made it unready,
/// Kubernetes would take it out of the Service and that stale board could never reach a browser. So once a
/// board has been read, a Redis failure reports Degraded (still HTTP 200 on /health/ready, with the reason);
/// before any board exists it is Unhealthy as everywhere else.
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
