using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Presence.Core;

namespace Presence.RealtimeGateway.Hubs;

/// <summary>
/// Around every hub invocation: a span, the per-method counter, and errors turned into clear
/// <see cref="HubException"/>s (a Redis outage included) so the client learns what happened and the
/// connection carries on. Unknown methods and unbindable payloads are answered by SignalR itself, before this.
/// </summary>
internal sealed partial class PresenceHubFilter(GatewayMetrics metrics, ILogger<PresenceHubFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var method = invocationContext.HubMethodName;
        using var activity = GatewayMetrics.ActivitySource.StartActivity("hub " + method, ActivityKind.Server);
        try
        {
            var result = await next(invocationContext).ConfigureAwait(false);
            metrics.Message(method, MessageOutcome.Ok);
            return result;
        }
        catch (HubException ex)
        {
            metrics.Message(method, MessageOutcome.Refused);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
        catch (RedisUnavailableException ex)
        {
            metrics.Message(method, MessageOutcome.Unavailable);
            activity?.SetStatus(ActivityStatusCode.Error, "redis unavailable");
            LogRedisUnavailable(logger, method);
            var seconds = Math.Max(1, (int)Math.Ceiling(ex.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            throw new HubException($"Presence store unavailable; retry after {seconds} s.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            metrics.Message(method, MessageOutcome.Failed);
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            LogFailed(logger, method, ex);
            throw new HubException($"The server could not handle '{method}'.");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis unavailable during hub method {Method}")]
    private static partial void LogRedisUnavailable(ILogger logger, string method);

    [LoggerMessage(Level = LogLevel.Error, Message = "Hub method {Method} failed")]
    private static partial void LogFailed(ILogger logger, string method, Exception exception);
}
