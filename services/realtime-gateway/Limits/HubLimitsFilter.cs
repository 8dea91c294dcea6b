using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Security.Claims;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Presence.ServiceDefaults;

namespace Presence.RealtimeGateway.Limits;

/// <summary>
/// The hub's per-client limits, apart from the hub itself: connections per user and per client address are capped when
/// a connection opens (refused with a <see cref="HubException"/> that closes it, the message telling which cap), and
/// watch-list calls are rate-limited per connection (refused with a <see cref="HubException"/> naming the retry delay;
/// the connection stays open). Registered after <see cref="Hubs.PresenceHubFilter"/>, so refusals are counted there.
/// </summary>
internal sealed partial class HubLimitsFilter(
    ConnectionCaps caps, IOptionsMonitor<HubLimitsOptions> options, TimeProvider time, ILogger<HubLimitsFilter> logger) : IHubFilter
{
    /// <summary>The calls that make the gateway subscribe, unsubscribe or read presence for a list of users.</summary>
    private static readonly HashSet<string> WatchMethods = new(StringComparer.Ordinal)
    {
        "watch", "unwatch", "watchTherapists", "unwatchTherapists", "watchCommunity", "unwatchCommunity",
    };

    private static readonly ConcurrentDictionary<MethodInfo, string> ClientNames = new();

    // The lease and the watch-call bucket are features of the connection, not HubCallerContext.Items entries (see
    // ConnectionState.Of); the watch-call bucket is the only TokenBucket feature.

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var user = context.Context.User.SubjectOf();
        var address = context.Context.GetHttpContext()?.Connection.RemoteIpAddress?.ToString();
        ConnectionCaps.Lease lease;
        try
        {
            lease = caps.Acquire(user, address);
        }
        catch (HubException ex)
        {
            LogConnectionRefused(logger, address, ex.Message);
            throw;
        }

        try
        {
            context.Context.Features.Set(lease);
            await next(context).ConfigureAwait(false);
        }
        catch
        {
            // SignalR does not call OnDisconnectedAsync for a connection whose OnConnectedAsync failed.
            lease.Release();
            throw;
        }
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        try
        {
            await next(context, exception).ConfigureAwait(false);
        }
        finally
        {
            context.Context.Features.Get<ConnectionCaps.Lease>()?.Release();
        }
    }

    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        // HubMethodName is the C# name; clients call the [HubMethodName] one (read once per method, not per call).
        var method = ClientNames.GetOrAdd(invocationContext.HubMethod, static m => m.GetCustomAttribute<HubMethodNameAttribute>()?.Name ?? m.Name);
        if (!WatchMethods.Contains(method))
        {
            return next(invocationContext);
        }

        var o = options.CurrentValue;
        var features = invocationContext.Context.Features;
        if (features.Get<TokenBucket>() is not { } limit)
        {
            limit = new TokenBucket(o.WatchBurst, o.WatchTokenPeriod, time.GetUtcNow());
            features.Set(limit);
        }

        if (!limit.TryTake(time.GetUtcNow(), out var retryAfter))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            throw new HubException(
                $"Too many watch calls on this connection ('{method}'): at most {o.WatchBurst.ToString(CultureInfo.InvariantCulture)} in a burst, "
                + $"then one every {o.WatchTokenPeriod.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s; retry after {seconds} s.");
        }

        return next(invocationContext);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Hub connection from {Address} refused: {Reason}")]
    private static partial void LogConnectionRefused(ILogger logger, string? address, string reason);
}
