using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.ServiceDefaults;

namespace Presence.RealtimeGateway;

/// <summary>Settings of the realtime gateway (section <c>Gateway</c>), validated at start-up.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>The hub's path.</summary>
    public string HubPath { get; set; } = HubPaths.Presence;

    /// <summary>
    /// SignalR backplane channel prefix. Unset: <c>{Presence:KeyPrefix}:signalr</c>, so deployments (and test
    /// classes) that share a Redis server but not a key prefix never see each other's messages.
    /// </summary>
    public string? BackplaneChannelPrefix { get; set; }

    /// <summary>
    /// How often the server pings an idle connection. Half of the clients' default server timeout (30 s), as SignalR
    /// recommends, so a healthy but quiet connection is never dropped by the client.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A connection the server hears nothing from (no message, no client ping) for this long is closed. Twice the
    /// clients' default ping interval (15 s); a half-open TCP connection is noticed in 30 s, well before the 90 s
    /// stale-connection window, and its user signs off at once when it was the last.
    /// </summary>
    public TimeSpan ClientTimeoutInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Largest hub message accepted; a larger one closes the connection (a SignalR protocol error). 32 KiB holds a
    /// <c>watch</c> of <see cref="MaxWatchedIds"/> ids of the longest allowed length, and nothing much bigger.
    /// </summary>
    public long MaximumReceiveMessageSize { get; set; } = 32 * 1024;

    /// <summary>Most ids one connection may watch, and one <c>watch</c> call may name.</summary>
    public int MaxWatchedIds { get; set; } = 200;

    /// <summary>Hub heartbeats (and joins) a connection may send in a burst before the steady rate applies.</summary>
    public int HeartbeatBurst { get; set; } = 5;

    /// <summary>One heartbeat token is given back this often (steady rate: 30 a minute by default).</summary>
    public TimeSpan HeartbeatTokenPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The consumer group all gateway instances read the role event streams as.</summary>
    public string ConsumerGroup { get; set; } = "gateways";

    /// <summary>
    /// Wait after an empty read of the event streams. StackExchange.Redis has no blocking <c>XREADGROUP</c>
    /// (<c>BLOCK</c> would stall its one shared connection), so the consumer polls; this bounds the added push latency.
    /// </summary>
    public TimeSpan EventPollDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Entries read per stream and call.</summary>
    public int EventBatchSize { get; set; } = 200;

    /// <summary>A pending entry idle this long belongs to a dead consumer (a killed instance) and is claimed (<c>XAUTOCLAIM</c>).</summary>
    public TimeSpan ReclaimIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often dead consumers' entries are looked for, and the pending gauge refreshed.</summary>
    public TimeSpan ReclaimInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>This instance's name (lease, connection records, consumer name); unset: <c>gw-{machine}-{random}</c>.</summary>
    public string? InstanceId { get; set; }

    public string EffectiveChannelPrefix(string keyPrefix) =>
        string.IsNullOrWhiteSpace(BackplaneChannelPrefix) ? keyPrefix + ":signalr" : BackplaneChannelPrefix;
}

internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions o)
    {
        var errors = new OptionsErrors(GatewayOptions.Section);
        errors.Positive(o.KeepAliveInterval, nameof(o.KeepAliveInterval));
        errors.Positive(o.ClientTimeoutInterval, nameof(o.ClientTimeoutInterval));
        errors.Positive(o.HeartbeatTokenPeriod, nameof(o.HeartbeatTokenPeriod));
        errors.Positive(o.EventPollDelay, nameof(o.EventPollDelay));
        errors.Positive(o.ReclaimIdle, nameof(o.ReclaimIdle));
        errors.Positive(o.ReclaimInterval, nameof(o.ReclaimInterval));
        if (o.ClientTimeoutInterval <= o.KeepAliveInterval)
        {
            errors.Add("Gateway:ClientTimeoutInterval must be longer than Gateway:KeepAliveInterval.");
        }

        if (!o.HubPath.StartsWith(HubPaths.Prefix + "/", StringComparison.Ordinal))
        {
            errors.Add("Gateway:HubPath must be under /hubs/ (the token is read from the query string only there).");
        }

        if (o.MaximumReceiveMessageSize < 1024)
        {
            errors.Add("Gateway:MaximumReceiveMessageSize must be at least 1024 bytes.");
        }

        if (o.MaxWatchedIds < 1 || o.HeartbeatBurst < 1 || o.EventBatchSize < 1)
        {
            errors.Add("Gateway:MaxWatchedIds, HeartbeatBurst and EventBatchSize must be at least 1.");
        }

        if (string.IsNullOrWhiteSpace(o.ConsumerGroup))
        {
            errors.Add("Gateway:ConsumerGroup must be set.");
        }

        if (o.InstanceId is not null && !Presence.Core.UserId.IsValid(o.InstanceId))
        {
            errors.Add("Gateway:InstanceId must match " + Presence.Core.UserId.Pattern + ".");
        }

        return errors.Result;
    }
}
