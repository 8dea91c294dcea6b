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
        var userKey = UserKey(user);
        var addressKey = AddressKey(address);
        if (userKey is not null && !TryIncrement(userKey, o.MaxConnectionsPerUser))
        {
            throw new HubException(UserRefusal(o));
        }

        if (addressKey is not null && !TryIncrement(addressKey, o.MaxConnectionsPerAddress))
        {
            Decrement(userKey);
            throw new HubException(AddressRefusal(o));
        }

        return new Lease(this, userKey, addressKey);
    }

    /// <summary>
    /// Why a new connection would be refused now, or null: lets negotiate answer 429 before a transport is set up.
    /// Only a hint (the count may change before the connection opens); <see cref="Acquire"/> decides.
    /// </summary>
    public string? Refusal(string? user, string? address)
    {
        var o = options.CurrentValue;
        if (UserKey(user) is { } userKey && Count(userKey) >= o.MaxConnectionsPerUser)
        {
            return UserRefusal(o);
        }

        return AddressKey(address) is { } addressKey && Count(addressKey) >= o.MaxConnectionsPerAddress ? AddressRefusal(o) : null;
    }

    private static string? UserKey(string? user) => user is null ? null : "u:" + user;

    private static string? AddressKey(string? address) => address is null ? null : "a:" + address;

    private static string UserRefusal(HubLimitsOptions o) =>
        $"Too many connections for this user: at most {o.MaxConnectionsPerUser.ToString(CultureInfo.InvariantCulture)} at once; close another tab or device first.";

    private static string AddressRefusal(HubLimitsOptions o) =>
        $"Too many connections from this address: at most {o.MaxConnectionsPerAddress.ToString(CultureInfo.InvariantCulture)} at once.";

    private int Count(string key) => _counts.TryGetValue(key, out var count) ? count : 0;

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
