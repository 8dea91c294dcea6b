using Microsoft.AspNetCore.Diagnostics;
using Presence.Core;

namespace Presence.ServiceDefaults;

/// <summary>
/// Turns what escapes an endpoint into problem details: a Redis outage or refusal (every class of
/// <see cref="RedisErrors"/>) is a fast 503 with Retry-After, never a 500; a bad request the server itself
/// refused (body too large, malformed framing) keeps its 4xx.
/// </summary>
internal sealed partial class PresenceExceptionHandler(
    IProblemDetailsService problems, IOptions<RedisResilienceOptions> resilience, ILogger<PresenceExceptionHandler> logger)
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
                detail = Detail(unavailable.Class);
                httpContext.Response.SetRetryAfter(unavailable.RetryAfter);
                LogRedisUnavailable(logger, httpContext.Request.Path, unavailable.Class.Name());
                break;
            case var raw when RedisErrors.Classify(raw) is { } errorClass:
                // Not through the resilience pipeline (a direct call) or an error reply no class covers: still the
                // store failing, so a 503; an unclassified reply is logged as an error, as it is likely a bug.
                status = StatusCodes.Status503ServiceUnavailable;
                title = "Presence store unavailable";
                detail = Detail(errorClass);
                httpContext.Response.SetRetryAfter(resilience.Value.BreakDuration);
                LogRedisFailed(logger, httpContext.Request.Path, errorClass.Name(), raw);
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

    private static string Detail(RedisErrorClass errorClass) => errorClass switch
    {
        RedisErrorClass.OutOfMemory or RedisErrorClass.Misconfigured or RedisErrorClass.ReadOnly =>
            $"The presence store refuses writes for now ({errorClass.Name()}); retry after the Retry-After delay.",
        RedisErrorClass.NoPermission => "The presence store refused this service's command (noperm); retry after the Retry-After delay.",
        _ => $"The presence store cannot be reached ({errorClass.Name()}); retry after the Retry-After delay.",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis unavailable ({ErrorClass}) while serving {Path}")]
    private static partial void LogRedisUnavailable(ILogger logger, PathString path, string errorClass);

    [LoggerMessage(Level = LogLevel.Error, Message = "Redis failed ({ErrorClass}) while serving {Path}")]
    private static partial void LogRedisFailed(ILogger logger, PathString path, string errorClass, Exception exception);
}
