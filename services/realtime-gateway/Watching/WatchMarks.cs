using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.Core.Intervals;

namespace Presence.RealtimeGateway.Watching;

/// <summary>
/// How many of this gateway's connections watch each therapist by id, published to Redis as the interval policy's
/// "watched" signal (<see cref="WatchedTherapists"/>): at once when a therapist gains its first watcher here, and
/// renewed every third of the mark's lifetime while any watcher remains.
/// </summary>
internal sealed partial class WatchMarks(WatchedTherapists watched, ILogger<WatchMarks> logger)
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Watched => [.. _counts.Keys];

    public async Task AddAsync(IReadOnlyCollection<UserId> therapistIds, CancellationToken ct)
    {
        var first = therapistIds.Select(id => id.Value).Where(id => _counts.AddOrUpdate(id, 1, (_, n) => n + 1) == 1).ToArray();
        if (first.Length > 0)
        {
            await PublishAsync(first, ct).ConfigureAwait(false);
        }
    }

    public void Remove(IEnumerable<string> therapistIds)
    {
        foreach (var id in therapistIds)
        {
            // The mark in Redis lapses by itself; only this gateway's count goes down now.
            if (_counts.AddOrUpdate(id, 0, (_, n) => n - 1) <= 0)
            {
                _counts.TryRemove(new KeyValuePair<string, int>(id, 0));
            }
        }
    }

    public async Task PublishAsync(IReadOnlyCollection<string> therapistIds, CancellationToken ct)
    {
        try
        {
            await watched.MarkAsync(therapistIds, ct).ConfigureAwait(false);
        }
        catch (RedisUnavailableException ex)
        {
            // Only an interval hint: the next renewal publishes it again.
            LogPublishFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish the watched therapists; the next renewal retries.")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception);
}

/// <summary>Renews this gateway's watch marks while watchers remain.</summary>
internal sealed class WatchMarkRenewal(WatchMarks marks, IOptionsMonitor<HeartbeatIntervalOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(options.CurrentValue.WatchedTtl / 3, time, stoppingToken).ConfigureAwait(false);
                await marks.PublishAsync(marks.Watched, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
