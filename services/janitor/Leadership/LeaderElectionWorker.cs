namespace Presence.Janitor.Leadership;

/// <summary>Competes for the leader lease for the life of the host and releases it on graceful shutdown.</summary>
internal sealed class LeaderElectionWorker(LeaderLease lease) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await lease.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await lease.ReleaseAsync(cancellationToken).ConfigureAwait(false);
    }
}
