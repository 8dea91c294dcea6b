using System.Diagnostics;
using StackExchange.Redis;

namespace Presence.RealtimeGateway.Pushes;

/// <summary>
/// Whether this instance's backplane can take pushes. Redis pub/sub keeps nothing: a push published while the
/// backplane's subscription connection is still reconnecting (after a Redis outage) reaches nobody, and the event,
/// acknowledged, would be gone. The consumer holds events back until the subscriptions are restored, plus a short
/// grace for the re-sent SUBSCRIBE commands to land (they travel on another socket than the PUBLISH).
/// </summary>
internal sealed class BackplaneHealth
{
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(500);
    private IConnectionMultiplexer? _multiplexer;
    private volatile bool _subscriptionDown;
    private long _restoredAt;

    /// <summary>Until SignalR opens the backplane (lazily, on the first connection or send) there is nothing to wait for.</summary>
    public bool Ready =>
        _multiplexer is null
        || (!_subscriptionDown && _multiplexer.IsConnected && Stopwatch.GetElapsedTime(Interlocked.Read(ref _restoredAt)) >= Grace);

    /// <summary>The backplane's subscriber once SignalR has opened it.</summary>
    public ISubscriber? Subscriber => _multiplexer?.GetSubscriber();

    public void Attach(IConnectionMultiplexer multiplexer)
    {
        multiplexer.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                _subscriptionDown = true;
            }
        };
        multiplexer.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                Interlocked.Exchange(ref _restoredAt, Stopwatch.GetTimestamp());
                _subscriptionDown = false;
            }
        };
        _multiplexer = multiplexer;
    }
}
