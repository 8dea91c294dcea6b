using System.Diagnostics;
using Microsoft.Extensions.Options;
using Presence.RealtimeGateway.Hubs;
using Presence.RealtimeGateway.Limits;

namespace Presence.RealtimeGateway.Watching;

/// <summary>
/// The therapists' board for <c>watchTherapists</c>, read once for many callers. A watcher must get a snapshot read
/// after its subscription took effect (a change is then in the snapshot or pushed afterwards, never lost between), so
/// a read is shared only by the calls that subscribed before it started: calls arriving while one read runs, or
/// within <see cref="HubLimitsOptions.BoardReadInterval"/> of its start, all wait for the next one. However many calls
/// come in, this instance runs at most one board read at a time and starts at most one per interval.
/// </summary>
/// <remarks>The interval is real time, not the injected clock: it paces Redis I/O, and a test's frozen clock must not stall it.</remarks>
internal sealed class SharedBoard(PresenceSnapshots snapshots, IOptionsMonitor<HubLimitsOptions> options)
{
    private readonly Lock _gate = new();
    private Task<PresenceSnapshot>? _next;
    private Task _current = Task.CompletedTask;
    private long _lastStarted;
    private long _reads;

    /// <summary>Board reads started so far (each served every call waiting for it).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>A snapshot whose read starts after this call (so after the caller's subscription).</summary>
    public Task<PresenceSnapshot> GetAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            // A queued read that has not started yet is joined; otherwise this call queues the next one. Task.Run: its
            // body takes the lock, so it cannot clear _next before this assignment is done.
            if (_next is null)
            {
                var previous = _current;
                var lastStarted = _lastStarted;
                _next = Task.Run(() => ReadAfterAsync(previous, lastStarted), CancellationToken.None);
            }

            return _next.WaitAsync(ct);
        }
    }

    private async Task<PresenceSnapshot> ReadAfterAsync(Task previous, long lastStarted)
    {
        // One read at a time, and no sooner than the interval after the previous one started.
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (lastStarted != 0)
        {
            var wait = options.CurrentValue.BoardReadInterval - Stopwatch.GetElapsedTime(lastStarted);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, CancellationToken.None).ConfigureAwait(false);
            }
        }

        Task<PresenceSnapshot> reading;
        lock (_gate)
        {
            // From here on, a new call may have subscribed after this read began: it queues the next one.
            _next = null;
            _lastStarted = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _reads);
            // Not a caller's token: the read serves every waiter, and the Redis timeout bounds it.
            reading = snapshots.AllTherapistsAsync(CancellationToken.None);
            _current = reading;
        }

        return await reading.ConfigureAwait(false);
    }
}
