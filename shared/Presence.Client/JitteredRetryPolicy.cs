using Microsoft.AspNetCore.SignalR.Client;

namespace Presence.Client;

/// <summary>
/// Reconnect delays with jitter. The SignalR client's default (0, 2, 10, 30 s) is the same for every client, so when a
/// gateway pod restarts all of its connections come back in the same instant. Here the first retry is spread over
/// <see cref="FirstRetryWindow"/>, later ones grow exponentially with "equal jitter" (half fixed, half random) up to
/// <see cref="MaxDelay"/>; <see cref="GiveUpAfter"/> null retries for ever. The browser module uses the same rule.
/// </summary>
public sealed class JitteredRetryPolicy : IRetryPolicy
{
    /// <summary>The first retry comes at a random point in [0, this).</summary>
    public TimeSpan FirstRetryWindow { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The base of the exponential growth after the first retry.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>No delay is longer than this.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Gives up (null delay) once this much time has passed; null: never.</summary>
    public TimeSpan? GiveUpAfter { get; init; }

    /// <summary>Source of randomness, in [0, 1).</summary>
    public Func<double> Random { get; init; } = System.Random.Shared.NextDouble;

    /// <summary>The delay before the next attempt, or null to give up.</summary>
    public TimeSpan? NextRetryDelay(RetryContext retryContext)
    {
        ArgumentNullException.ThrowIfNull(retryContext);
        if (GiveUpAfter is { } limit && retryContext.ElapsedTime >= limit)
        {
            return null;
        }

        return Delay(retryContext.PreviousRetryCount);
    }

    /// <summary>The delay before retry number <paramref name="previousRetries"/> + 1.</summary>
    public TimeSpan Delay(long previousRetries)
    {
        if (previousRetries <= 0)
        {
            return FirstRetryWindow * Random();
        }

        var exponent = Math.Min(previousRetries, 20);
        var ceiling = Math.Min(MaxDelay.TotalMilliseconds, BaseDelay.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds((ceiling / 2) + (ceiling / 2 * Random()));
    }
}
