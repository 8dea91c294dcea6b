using System.Globalization;
using Presence.Core;
using Presence.Core.Intervals;

namespace Presence.Benchmarks;

/// <summary>
/// <c>Presence.Benchmarks intervals</c>: simulated clients obeying <c>nextHeartbeatSeconds</c> from the real
/// <see cref="HeartbeatIntervalPolicy.Decide"/> over a simulated hour, against the constant interval. No Redis and no
/// wall clock: the figure is the policy's effect on the heartbeat rate, not a throughput measurement.
/// </summary>
internal static class IntervalSimulation
{
    public static void Run(int clients = 10_000, double hiddenShare = 0.5, double watchedShare = 0.02, int seconds = 3600, int seed = 17)
    {
        var presence = new PresenceOptions();
        var o = new HeartbeatIntervalOptions();
        var random = new Random(seed);
        var constant = (double)clients * seconds / presence.HeartbeatInterval.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{clients} clients, {hiddenShare:P0} hidden, {watchedShare:P0} watched therapists, {seconds} s simulated"));
        Console.WriteLine($"{"scenario",-38} {"beats/s",9} {"saved",7} {"max gap s",9}");
        Print("constant interval", constant / seconds, 0, presence.HeartbeatInterval.TotalSeconds);
        foreach (var (name, capacityShare) in new[] { ("adaptive, below capacity", 10.0), ("adaptive, one instance at 2x capacity", 0.5) })
        {
            // capacityShare scales the instance capacity against the constant rate: 0.5 means the constant load is twice capacity.
            var capacity = constant / seconds * capacityShare;
            var beats = 0L;
            var maxGap = 0;
            var next = new double[clients];
            for (var i = 0; i < clients; i++)
            {
                // Clients start spread over the first interval, as after a rolling deploy.
                next[i] = random.NextDouble() * presence.HeartbeatInterval.TotalSeconds;
            }

            var rate = constant / seconds;
            for (var t = 0; t < seconds; t++)
            {
                var thisSecond = 0;
                for (var i = 0; i < clients; i++)
                {
                    if (next[i] > t)
                    {
                        continue;
                    }

                    var hidden = i < clients * hiddenShare;
                    var watched = !hidden && i % (int)(1 / watchedShare) == 0;
                    var gap = HeartbeatIntervalPolicy.Decide(presence, o, new IntervalSignals(!hidden, watched, rate / capacity), random.NextDouble());
                    maxGap = Math.Max(maxGap, gap);
                    next[i] += gap;
                    thisSecond++;
                }

                beats += thisSecond;
                // The instance measures its own rate (a moving average stands in for the sliding window).
                rate = (rate * 0.9) + (thisSecond * 0.1);
            }

            Print(name, (double)beats / seconds, 1 - (beats / constant), maxGap);
        }
    }

    private static void Print(string name, double perSecond, double saved, double maxGap) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-38} {perSecond,9:F1} {saved,7:P1} {maxGap,9:F0}"));
}
