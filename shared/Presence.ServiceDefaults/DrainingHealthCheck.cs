namespace Presence.ServiceDefaults;

/// <summary>
/// Not ready once the host is stopping (SIGTERM): the pod leaves its Service's endpoints while in-flight requests
/// and hub connections drain (docs/operations.md, "Readiness").
/// </summary>
internal sealed class DrainingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? new HealthCheckResult(context.Registration.FailureStatus, "Shutting down.")
            : HealthCheckResult.Healthy());
}
