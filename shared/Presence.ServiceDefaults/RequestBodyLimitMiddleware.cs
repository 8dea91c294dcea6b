using Microsoft.AspNetCore.Http.Features;

namespace Presence.ServiceDefaults;

/// <summary>
/// Refuses bodies over <see cref="HttpLimitsOptions.MaxRequestBodyBytes"/> with a 413 problem: at once when
/// Content-Length says so, and through the server's own limit for chunked bodies (Kestrel then throws a
/// 413 <see cref="BadHttpRequestException"/> that the exception handler turns into a problem). Hub transports
/// (<see cref="HttpLimitsOptions.HubPathPrefix"/>: SignalR's SSE and long-polling sends) are left alone: a send may
/// batch several messages, and the hub bounds each message itself (<c>MaximumReceiveMessageSize</c>).
/// </summary>
internal sealed class RequestBodyLimitMiddleware(RequestDelegate next, IOptions<HttpLimitsOptions> options)
{
    public Task InvokeAsync(HttpContext context)
    {
        var o = options.Value;
        if (!string.IsNullOrEmpty(o.HubPathPrefix) && context.Request.Path.StartsWithSegments(o.HubPathPrefix, StringComparison.Ordinal))
        {
            return next(context);
        }

        var limit = o.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            return ProblemDetailsExtensions.WriteProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "Payload too large",
                $"The request body may be at most {limit} bytes.");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        return next(context);
    }
}
