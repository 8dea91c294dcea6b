using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Presence.RealtimeGateway.Limits;

/// <summary>
/// Counts this instance's open hub connections per signed-in user and per client address, and refuses one over
/// <see cref="HubLimitsOptions.MaxConnectionsPerUser"/> or <see cref="HubLimitsOptions.MaxConnectionsPerAddress"/>.
/// </summary>
internal sealed class ConnectionCaps(IOptionsMonitor<HubLimitsOptions> options)
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>Takes a place for the connection, or throws a <see cref="HubException"/> saying which cap it hit.</summary>
    public Lease Acquire(string? user, string? address)
    {
        var o = options.CurrentValue;
        var userKey = user is null ? null : "u:" + user;
        var addressKey = address is null ? null : "a:" + address;
        if (userKey is not null && !TryIncrement(userKey, o.MaxConnectionsPerUser))
        {
            throw new HubException(
                $"Too many connections for this user: at most {o.MaxConnectionsPerUser.ToString(CultureInfo.InvariantCulture)} at once; close another tab or device first.");
        }

        if (addressKey is not null && !TryIncrement(addressKey, o.MaxConnectionsPerAddress))
        {
            Decrement(userKey);
            throw new HubException(
                $"Too many connections from this address: at most {o.MaxConnectionsPerAddress.ToString(CultureInfo.InvariantCulture)} at once.");
        }

        return new Lease(this, userKey, addressKey);
    }

    public int Count(string key) => _counts.TryGetValue(key, out var count) ? count : 0;

    private bool TryIncrement(string key, int max)
    {
        while (true)
        {
            var current = _counts.GetOrAdd(key, 0);
            if (current >= max)
            {
                return false;
            }

            if (_counts.TryUpdate(key, current + 1, current))
            {
                return true;
            }
        }
    }

    private void Decrement(string? key)
    {
        if (key is null)
        {
            return;
        }

        while (_counts.TryGetValue(key, out var current))
        {
            if (current <= 1 ? _counts.TryRemove(new KeyValuePair<string, int>(key, current)) : _counts.TryUpdate(key, current - 1, current))
            {
                return;
            }
        }
    }

    /// <summary>One connection's places; given back once when it closes.</summary>
    internal sealed class Lease(ConnectionCaps caps, string? userKey, string? addressKey)
    {
        private int _released;

        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                caps.Decrement(userKey);
                caps.Decrement(addressKey);
            }
        }
    }
}
