using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Presence.Core.Intervals;

/// <summary>Keeps <see cref="WatchedTherapists"/> fresh in every process that answers heartbeats.</summary>
internal sealed partial class WatchedTherapistsRefresher(
    WatchedTherapists watched,
    IOptionsMonitor<HeartbeatIntervalOptions> options,
    TimeProvider time,
    ILogger<WatchedTherapistsRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await watched.RefreshAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (RedisUnavailableException ex)
            {
                // The last known set stays: at worst a watched therapist keeps the plain interval a little longer.
                LogRefreshFailed(logger, ex);
            }

            try
            {
                await Task.Delay(options.CurrentValue.WatchedRefresh, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh the watched therapists; keeping the last set.")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
