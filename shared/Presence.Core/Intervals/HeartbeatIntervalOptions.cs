using Microsoft.Extensions.Options;

namespace Presence.Core.Intervals;

/// <summary>The adaptive heartbeat interval (section <c>Presence:Intervals</c>), validated at start-up.</summary>
public sealed class HeartbeatIntervalOptions
{
    public const string Section = "Presence:Intervals";

    /// <summary>The interval is multiplied by this for a client that says it is hidden or idle (<c>visible: false</c>).</summary>
    public double HiddenFactor { get; set; } = 2.0;

    /// <summary>The interval is multiplied by this for a visible therapist whom someone watches by id.</summary>
    public double WatchedFactor { get; set; } = 0.5;

    /// <summary>Heartbeats per second one instance takes before it sheds load (load factor 1).</summary>
    public double CapacityPerSecond { get; set; } = 2000;

    /// <summary>Past capacity the interval grows with the load factor, up to this multiple.</summary>
    public double MaxLoadStretch { get; set; } = 2.0;

    /// <summary>While shedding load, each answer is moved by up to this share either way, so reconnect storms spread out.</summary>
    public double JitterShare { get; set; } = 0.2;

    /// <summary>The longest interval, as a share of the online window: a late beat must still keep the user online.</summary>
    public double MaxShareOfOnlineWindow { get; set; } = 0.75;

    /// <summary>The sliding window over which this instance's heartbeat rate is measured.</summary>
    public TimeSpan LoadWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a watch mark lasts in Redis; the gateway renews it every third of this while the watch lasts.</summary>
    public TimeSpan WatchedTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an instance re-reads the set of watched therapists into memory.</summary>
    public TimeSpan WatchedRefresh { get; set; } = TimeSpan.FromSeconds(5);
}

public sealed class HeartbeatIntervalOptionsValidator : IValidateOptions<HeartbeatIntervalOptions>
{
    public ValidateOptionsResult Validate(string? name, HeartbeatIntervalOptions o)
    {
        var errors = new List<string>();
        if (!(o.HiddenFactor >= 1))
        {
            errors.Add("Presence:Intervals:HiddenFactor must be at least 1.");
        }

        if (!(o.WatchedFactor > 0 && o.WatchedFactor <= 1))
        {
            errors.Add("Presence:Intervals:WatchedFactor must be in (0, 1].");
        }

        if (!(o.CapacityPerSecond > 0))
        {
            errors.Add("Presence:Intervals:CapacityPerSecond must be positive.");
        }

        if (!(o.MaxLoadStretch >= 1))
        {
            errors.Add("Presence:Intervals:MaxLoadStretch must be at least 1.");
        }

        if (!(o.JitterShare >= 0 && o.JitterShare < 0.5))
        {
            errors.Add("Presence:Intervals:JitterShare must be in [0, 0.5).");
        }

        if (!(o.MaxShareOfOnlineWindow > 0 && o.MaxShareOfOnlineWindow < 1))
        {
            errors.Add("Presence:Intervals:MaxShareOfOnlineWindow must be in (0, 1).");
        }

        if (o.LoadWindow < TimeSpan.FromSeconds(1) || o.WatchedTtl <= TimeSpan.Zero || o.WatchedRefresh <= TimeSpan.Zero)
        {
            errors.Add("Presence:Intervals:LoadWindow must be at least 1 s; WatchedTtl and WatchedRefresh positive.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
