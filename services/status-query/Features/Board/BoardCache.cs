using System.Diagnostics;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.StatusQuery.Features;

namespace Presence.StatusQuery.Features.Board;

/// <summary>A board to answer with; <see cref="Stale"/> when Redis could not confirm it just now.</summary>
public readonly record struct BoardRead(BoardSnapshot Snapshot, bool Stale);

/// <summary>
/// Reads the therapists' board from Redis at most once per <see cref="StatusQueryOptions.BoardRefreshInterval"/>
/// for the whole instance, whatever the filters and pages asked (the output cache in front locks per URL, this
/// locks per instance), and keeps the last good board for outages. Concurrent callers share one build (single
/// flight); a failed build is not retried before the interval passes, so an outage costs Redis nothing extra.
/// </summary>
public sealed partial class BoardCache(
    PresenceReader reader,
    TimeProvider time,
    IOptionsMonitor<PresenceOptions> presenceOptions,
    IOptionsMonitor<StatusQueryOptions> options,
    StatusQueryMetrics metrics,
    ILogger<BoardCache> logger)
{
    private readonly Lock _gate = new();
    private BoardSnapshot? _current;
    private Task<BoardSnapshot>? _build;
    private DateTimeOffset _failedAt = DateTimeOffset.MinValue;

    /// <summary>True once a board was read: during an outage it can still be served, marked stale.</summary>
    public bool HasLastGood => Volatile.Read(ref _current) is not null;

    /// <summary>The board held, when it was read within the refresh interval (no read, no wait): what <see cref="GetAsync"/> would answer at once.</summary>
    public bool TryGetFresh([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BoardSnapshot? snapshot)
    {
        snapshot = Volatile.Read(ref _current);
        return snapshot is not null && time.GetUtcNow() - snapshot.ReadAt < options.CurrentValue.BoardRefreshInterval;
    }

    public async Task<BoardRead> GetAsync(CancellationToken ct)
    {
        Task<BoardSnapshot> build;
        BoardSnapshot? last;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            var interval = options.CurrentValue.BoardRefreshInterval;
            last = _current;
            if (last is not null && now - last.ReadAt < interval)
            {
                return new BoardRead(last, Stale: false);
            }

            if (last is not null && now - _failedAt < interval)
            {
                metrics.StaleAnswer();
                return new BoardRead(last, Stale: true);
            }

            if (_build is null || _build.IsCompleted)
            {
                _build = BuildAsync(last);
            }

            build = _build;
        }

        try
        {
            // The build is shared: a caller that gives up stops waiting, the build goes on for the others.
            return new BoardRead(await build.WaitAsync(ct).ConfigureAwait(false), Stale: false);
        }
        catch (RedisUnavailableException) when (last is not null)
        {
            metrics.StaleAnswer();
            return new BoardRead(last, Stale: true);
        }
    }

    private async Task<BoardSnapshot> BuildAsync(BoardSnapshot? previous)
    {
        // Off the caller's lock and stack: the Redis calls start on the thread pool.
        await Task.Yield();
        using var activity = StatusQueryExtensions.ActivitySource.StartActivity("board.build");
        activity?.SetTag(PresenceTags.Role, PresenceRole.Therapist.Name());
        var started = Stopwatch.GetTimestamp();
        try
        {
            var board = await reader.GetBoardAsync(PresenceRole.Therapist, CancellationToken.None).ConfigureAwait(false);
            var thresholds = ThresholdsView.From(presenceOptions.CurrentValue);
            var snapshot = new BoardSnapshot(board, board.At, thresholds);
            if (snapshot.HasSameContentAs(previous))
            {
                snapshot = new BoardSnapshot(board, previous!.GeneratedAt, thresholds);
            }

            lock (_gate)
            {
                _current = snapshot;
            }

            metrics.BoardBuilt(Stopwatch.GetElapsedTime(started), "ok");
            activity?.SetTag(PresenceTags.BoardOnline, board.Counts.Online);
            activity?.SetTag(PresenceTags.BoardRecent, board.Counts.Recent);
            activity?.SetTag(PresenceTags.BoardAvailable, board.Counts.Available);
            activity?.SetTag(PresenceTags.BoardChanged, snapshot.GeneratedAt == board.At);
            return snapshot;
        }
        catch (RedisUnavailableException ex)
        {
            lock (_gate)
            {
                _failedAt = time.GetUtcNow();
            }

            metrics.BoardBuilt(Stopwatch.GetElapsedTime(started), "unavailable");
            activity?.SetStatus(ActivityStatusCode.Error, "redis unavailable");
            LogBuildFailed(logger, previous is not null, ex);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Board build failed: Redis unavailable (last good board available: {HasLastGood})")]
    private static partial void LogBuildFailed(ILogger logger, bool hasLastGood, Exception exception);
}
