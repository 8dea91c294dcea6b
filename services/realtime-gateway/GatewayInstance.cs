using System.Text;
using Microsoft.Extensions.Options;
using Presence.Core;

namespace Presence.RealtimeGateway;

/// <summary>
/// This process's name among the gateways: the lease it renews, the owner of its connection records and its
/// consumer name in the event group. Random per start, so a restarted pod never inherits a dead one's records.
/// </summary>
public sealed class GatewayInstance
{
    public GatewayInstance(IOptions<GatewayOptions> options)
    {
        Id = options.Value.InstanceId ?? $"gw-{Sanitize(Environment.MachineName)}-{Guid.NewGuid().ToString("N")[..8]}";
        UserId.EnsureValid(Id);
    }

    public string Id { get; }

    private static string Sanitize(string machine)
    {
        var name = new StringBuilder(Math.Min(machine.Length, 64));
        foreach (var c in machine.AsSpan(0, Math.Min(machine.Length, 64)))
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '-');
        }

        return name.Length == 0 ? "host" : name.ToString();
    }
}
