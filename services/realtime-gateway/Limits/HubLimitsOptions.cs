using Microsoft.Extensions.Options;

namespace Presence.RealtimeGateway.Limits;

/// <summary>
/// What one client may cost the gateway (section <c>Gateway:Limits</c>), validated at start-up. The caps count the
/// connections of this gateway instance: with N replicas behind a balancer a client may hold up to N times as many.
/// </summary>
public sealed class HubLimitsOptions
{
    public const string Section = "Gateway:Limits";

    /// <summary>Watch-list calls (<c>watch</c>, <c>unwatch</c>, <c>watchTherapists</c>, ...) one connection may make in a burst.</summary>
    public int WatchBurst { get; set; } = 10;

    /// <summary>One watch-list call is given back this often once the burst is spent (steady rate: 60 a minute).</summary>
    public TimeSpan WatchTokenPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Open hub connections one signed-in user may hold on this instance (devices and tabs together).</summary>
    public int MaxConnectionsPerUser { get; set; } = 20;

    /// <summary>
    /// Open hub connections one client address may hold on this instance, signed in or not. Generous: a whole office
    /// behind one NAT address watches the board; the address is the forwarded one behind the ingress.
    /// </summary>
    public int MaxConnectionsPerAddress { get; set; } = 200;

    /// <summary>
    /// Shortest time between two whole-board reads for <c>watchTherapists</c> on this instance: callers in between share
    /// the next read, so a storm of calls costs Redis at most one board read per interval.
    /// </summary>
    public TimeSpan BoardReadInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}

internal sealed class HubLimitsOptionsValidator : IValidateOptions<HubLimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, HubLimitsOptions o)
    {
        var errors = new List<string>();
        if (o.WatchBurst < 1 || o.MaxConnectionsPerUser < 1 || o.MaxConnectionsPerAddress < 1)
        {
            errors.Add($"{HubLimitsOptions.Section}:WatchBurst, MaxConnectionsPerUser and MaxConnectionsPerAddress must be at least 1.");
        }

        if (o.WatchTokenPeriod <= TimeSpan.Zero)
        {
            errors.Add($"{HubLimitsOptions.Section}:WatchTokenPeriod must be positive (was {o.WatchTokenPeriod}).");
        }

        if (o.BoardReadInterval < TimeSpan.Zero || o.BoardReadInterval > TimeSpan.FromSeconds(5))
        {
            errors.Add($"{HubLimitsOptions.Section}:BoardReadInterval must be between 0 and 5 s (was {o.BoardReadInterval}): it delays watchTherapists answers.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
