using System.Net;

namespace Presence.Client;

/// <summary>
/// A problem-details answer of a Presence service (RFC 9457). The subclasses name the classes a caller handles
/// differently; <see cref="RetryAfter"/> is set when the server said when to come back (429, 503).
/// </summary>
public class PresenceApiException : Exception
{
    /// <summary>An error without details.</summary>
    public PresenceApiException()
    {
    }

    /// <summary>An error with a message.</summary>
    public PresenceApiException(string message)
        : base(message)
    {
    }

    /// <summary>An error with a message and its cause.</summary>
    public PresenceApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>An error answer of the API, from its status and problem details.</summary>
    public PresenceApiException(HttpStatusCode status, string? title, string? detail, IReadOnlyDictionary<string, string[]>? errors, TimeSpan? retryAfter, string? type = null)
        : base(Describe(status, title, detail, errors))
    {
        Status = status;
        Title = title;
        Detail = detail;
        Type = type;
        Errors = errors ?? new Dictionary<string, string[]>();
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status of the answer.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The problem's title.</summary>
    public string? Title { get; }

    /// <summary>The problem's detail, when the server gave one.</summary>
    public string? Detail { get; }

    /// <summary>The problem type URI, when the server gave one.</summary>
    public string? Type { get; }

    /// <summary>Validation failures by field name (400), empty otherwise.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; } = new Dictionary<string, string[]>();

    /// <summary>The server's <c>Retry-After</c>, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; }

    private static string Describe(HttpStatusCode status, string? title, string? detail, IReadOnlyDictionary<string, string[]>? errors)
    {
        var text = $"{(int)status} {title ?? status.ToString()}";
        if (!string.IsNullOrEmpty(detail))
        {
            text += ": " + detail;
        }

        if (errors is { Count: > 0 })
        {
            text += " (" + string.Join("; ", errors.Select(e => e.Key + ": " + string.Join(", ", e.Value))) + ")";
        }

        return text;
    }
}

/// <summary>400: the request was malformed (bad id, too many ids, bad JSON, bad filter); <see cref="PresenceApiException.Errors"/> says which field.</summary>
public sealed class PresenceBadRequestException(HttpStatusCode status, string? title, string? detail, IReadOnlyDictionary<string, string[]>? errors, string? type)
    : PresenceApiException(status, title, detail, errors, null, type);

/// <summary>401: the token is missing, invalid or expired. Get a new one.</summary>
public sealed class PresenceUnauthorizedException(HttpStatusCode status, string? title, string? detail, string? type)
    : PresenceApiException(status, title, detail, null, null, type);

/// <summary>403: the token's role may not do this (a community user setting availability, reading another community user).</summary>
public sealed class PresenceForbiddenException(HttpStatusCode status, string? title, string? detail, string? type)
    : PresenceApiException(status, title, detail, null, null, type);

/// <summary>413 or 415: the body is too large or not JSON.</summary>
public sealed class PresencePayloadRejectedException(HttpStatusCode status, string? title, string? detail, string? type)
    : PresenceApiException(status, title, detail, null, null, type);

/// <summary>429: too soon (the heartbeat min interval, or the writes rate limit). Wait <see cref="PresenceApiException.RetryAfter"/>.</summary>
public sealed class PresenceRateLimitedException(HttpStatusCode status, string? title, string? detail, TimeSpan? retryAfter, string? type)
    : PresenceApiException(status, title, detail, null, retryAfter, type);

/// <summary>503: the service cannot reach its store right now; it recovers by itself. Wait <see cref="PresenceApiException.RetryAfter"/>.</summary>
public sealed class PresenceUnavailableException(HttpStatusCode status, string? title, string? detail, TimeSpan? retryAfter, string? type)
    : PresenceApiException(status, title, detail, null, retryAfter, type);
