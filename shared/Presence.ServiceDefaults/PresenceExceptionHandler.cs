using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Presence.Core;

namespace Presence.ServiceDefaults;

/// <summary>
/// Turns what escapes an endpoint into problem details: a Redis outage is a fast 503 with Retry-After,
/// a bad request the server itself refused (body too large, malformed framing) keeps its 4xx.
/// </summary>
internal sealed partial class PresenceExceptionHandler(IProblemDetailsService problems, ILogger<PresenceExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        int status;
        string title;
        string detail;
        switch (exception)
        {
            case RedisUnavailableException unavailable:
                status = StatusCodes.Status503ServiceUnavailable;
                title = "Presence store unavailable";
                detail = "The presence store cannot be reached; retry after the Retry-After delay.";
                httpContext.Response.Headers.RetryAfter =
                    ((int)Math.Ceiling(unavailable.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                LogRedisUnavailable(logger, httpContext.Request.Path);
                break;
            case BadHttpRequestException bad:
                status = bad.StatusCode;
                title = status == StatusCodes.Status413PayloadTooLarge ? "Payload too large" : "Bad request";
                detail = bad.Message;
                break;
            default:
                return false;
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        }).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis unavailable while serving {Path}")]
    private static partial void LogRedisUnavailable(ILogger logger, PathString path);
}
