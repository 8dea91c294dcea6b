using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Core.Engagement;
using Presence.Janitor.Leadership;
using StackExchange.Redis;

namespace Presence.Janitor.Engagement;

/// <summary>
/// While this replica leads, adds the therapists online now and those flagged available now to the hour's coverage
/// every <see cref="EngagementOptions.CoverageSampleInterval"/> (docs/architecture.md, "Engagement analytics"): events
/// alone would count a therapist online for three hours only in the hour it came online. "Flagged available" is the
/// flag, whatever the bucket, not the available bucket of the stats (docs/architecture.md, "Buckets").
/// </summary>
internal sealed partial class CoverageSampler(
    PresenceReader reader,
    Analytics analytics,
    LeaderLease lease,
    IOptionsMonitor<EngagementOptions> options,
    TimeProvider time,
    ILogger<CoverageSampler> logger) : BackgroundService
{
    public async Task SampleAsync(CancellationToken ct)
    {
        var board = await reader.GetBoardAsync(PresenceRole.Therapist, ct).ConfigureAwait(false);
        var online = board.Entries.Where(e => e.Status == PresenceStatus.Online).Select(e => e.Id).ToArray();
        var flaggedAvailable = board.Entries.Where(e => e.Available).Select(e => e.Id).ToArray();
        await analytics.SampleCoverageAsync(online, flaggedAvailable, time.GetUtcNow(), ct).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(options.CurrentValue.CoverageSampleInterval, time, stoppingToken).ConfigureAwait(false);
                if (!lease.IsLeader)
                {
                    continue;
                }

                try
                {
                    await SampleAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RedisUnavailableException or RedisException)
                {
                    LogSampleFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Coverage sample failed; the next one is due at the next interval.")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);
}
