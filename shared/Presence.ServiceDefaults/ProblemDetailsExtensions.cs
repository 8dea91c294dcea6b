using System.Globalization;

namespace Presence.ServiceDefaults;

/// <summary>Error answers as problem details, and the one way a <c>Retry-After</c> is written.</summary>
public static class ProblemDetailsExtensions
{
    /// <summary>Writes a problem with <paramref name="status"/> through the registered problem-details writers.</summary>
    public static async Task WriteProblemAsync(HttpContext http, int status, string title, string detail)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Response.StatusCode = status;
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        }).ConfigureAwait(false);
    }

    /// <summary>Whole seconds a client waits: rounded up, and at least 1 (a 0 would invite an immediate retry).</summary>
    public static int RetryAfterSeconds(TimeSpan delay) => Math.Max(1, (int)Math.Ceiling(delay.TotalSeconds));

    /// <summary>Sets <c>Retry-After</c> to <paramref name="delay"/> in whole seconds; returns the seconds written.</summary>
    public static int SetRetryAfter(this HttpResponse response, TimeSpan delay)
    {
        ArgumentNullException.ThrowIfNull(response);
        var seconds = RetryAfterSeconds(delay);
        response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return seconds;
    }
}
