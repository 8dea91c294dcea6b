using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Presence.Client;

/// <summary>
/// Typed calls for every REST endpoint (README.md, "HTTP API"). Problem details become <see cref="PresenceApiException"/>
/// subclasses; 429 is surfaced with its <c>Retry-After</c>. A 503 is retried after its <c>Retry-After</c> by the
/// <see cref="HttpClient"/>'s resilience handler (<see cref="PresenceResilience"/>): <see cref="Create"/> and
/// <see cref="PresenceClientServiceCollectionExtensions.AddPresenceClient"/> add it; a hand-made client adds
/// <see cref="PresenceResilience.CreateHandler"/>. Behind the ingress (or the local proxy) one origin serves both;
/// without it, give the heartbeat-api's and the status-query's clients.
/// </summary>
public sealed class PresenceClient
{
    private static readonly PresenceClientJsonContext Json = PresenceClientJsonContext.Default;

    private readonly HttpClient _writes;
    private readonly HttpClient _reads;
    private readonly PresenceClientOptions _options;

    /// <summary>A client of one origin (the ingress, or <c>http://localhost:3001</c> locally), with the Retry-After retry.</summary>
    public static PresenceClient Create(Uri baseAddress, PresenceClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        options ??= new PresenceClientOptions();
        var handler = PresenceResilience.CreateHandler(options);
        handler.InnerHandler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        return new PresenceClient(new HttpClient(handler) { BaseAddress = baseAddress }, options);
    }

    /// <summary>A client over one <see cref="HttpClient"/> for both services (one origin).</summary>
    public PresenceClient(HttpClient http, PresenceClientOptions? options = null)
        : this(http, http, options)
    {
    }

    /// <summary>A client over separate addresses of the two services.</summary>
    /// <param name="heartbeatApi">Heartbeats, availability, sign-off.</param>
    /// <param name="statusQuery">Board, lookups, stats.</param>
    /// <param name="options">Token provider and retry settings.</param>
    public PresenceClient(HttpClient heartbeatApi, HttpClient statusQuery, PresenceClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(heartbeatApi);
        ArgumentNullException.ThrowIfNull(statusQuery);
        _writes = heartbeatApi;
        _reads = statusQuery;
        _options = options ?? new PresenceClientOptions();
    }

    /// <summary><c>POST /v1/{therapists,community}/heartbeat</c>. Throws <see cref="PresenceRateLimitedException"/> within the min interval.</summary>
    public async Task<HeartbeatAck> HeartbeatAsync(PresenceRole role, HeartbeatRequest? request = null, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(_writes, HttpMethod.Post, $"v1/{role.RouteSegment()}/heartbeat",
            request is null ? null : JsonContent.Create(request, Json.HeartbeatRequest), cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, Json.HeartbeatAck, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>PUT /v1/therapists/availability</c>: the calling therapist accepts sessions, or stops.</summary>
    public async Task<AvailabilityResult> SetAvailabilityAsync(bool available, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(_writes, HttpMethod.Put, "v1/therapists/availability",
            JsonContent.Create(new AvailabilityBody(available), Json.AvailabilityBody), cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, Json.AvailabilityResult, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>POST /v1/{therapists,community}/offline</c>: online ends now (logout).</summary>
    public async Task SignOffAsync(PresenceRole role, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(_writes, HttpMethod.Post, $"v1/{role.RouteSegment()}/offline", null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>GET /v1/therapists/status/realtime</c>. Pass the last <see cref="BoardResult.ETag"/> as <paramref name="ifNoneMatch"/>:
    /// an unchanged board answers <see cref="BoardResult.NotModified"/> without a body.
    /// </summary>
    public async Task<BoardResult> GetBoardAsync(BoardQuery? query = null, string? ifNoneMatch = null, CancellationToken cancellationToken = default)
    {
        var parameters = new List<string>();
        if (query?.Statuses is { Count: > 0 } statuses)
        {
            parameters.Add("status=" + Uri.EscapeDataString(string.Join(',', statuses)));
        }

        if (query?.Limit is { } limit)
        {
            parameters.Add("limit=" + limit.ToString(CultureInfo.InvariantCulture));
        }

        if (query?.Cursor is { } cursor)
        {
            parameters.Add("cursor=" + Uri.EscapeDataString(cursor));
        }

        var path = "v1/therapists/status/realtime" + (parameters.Count > 0 ? "?" + string.Join('&', parameters) : "");
        using var response = await SendAsync(_reads, HttpMethod.Get, path, null, cancellationToken, request =>
        {
            if (ifNoneMatch is not null)
            {
                request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
            }
        }).ConfigureAwait(false);
        var stale = response.Headers.TryGetValues("X-Presence-Stale", out var values) && values.Contains("true", StringComparer.OrdinalIgnoreCase);
        var age = response.Headers.Age;
        var etag = response.Headers.ETag?.ToString();
        if (response.StatusCode == HttpStatusCode.NotModified)
        {
            return new BoardResult { NotModified = true, ETag = etag ?? ifNoneMatch, Stale = stale, Age = age };
        }

        var board = await ReadAsync(response, Json.Board, cancellationToken).ConfigureAwait(false);
        return new BoardResult { Board = board, ETag = etag, Stale = stale, Age = age };
    }

    /// <summary><c>GET /v1/presence/{role}/{id}</c>: unknown users are <c>offline</c>. A community user is visible to itself and to therapists.</summary>
    public async Task<PresenceStatus> GetPresenceAsync(PresenceRole role, string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        using var response = await SendAsync(_reads, HttpMethod.Get, $"v1/presence/{role.Name()}/{Uri.EscapeDataString(id)}", null, cancellationToken)
            .ConfigureAwait(false);
        return await ReadAsync(response, Json.PresenceStatus, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>POST /v1/presence/query</c> (therapists only): up to 500 ids, one entry per distinct id in the order asked.</summary>
    public async Task<PresenceQueryResult> QueryAsync(PresenceRole role, IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var response = await SendAsync(_reads, HttpMethod.Post, "v1/presence/query",
            JsonContent.Create(new QueryBody(role.Name(), ids), Json.QueryBody), cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, Json.PresenceQueryResult, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>GET /v1/presence/stats</c>: counts per role and bucket.</summary>
    public async Task<PresenceStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(_reads, HttpMethod.Get, "v1/presence/stats", null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, Json.PresenceStats, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(
        HttpClient http, HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken, Action<HttpRequestMessage>? configure = null)
    {
        // Retries (503 after Retry-After) belong to the HttpClient's resilience handler (PresenceResilience), which may
        // send this request again: the content is re-readable.
        using var request = new HttpRequestMessage(method, path) { Content = content };
        var token = _options.AccessTokenProvider is null ? null : await _options.AccessTokenProvider(cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        configure?.Invoke(request);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotModified)
        {
            return response;
        }

        using (response)
        {
            throw await ProblemAsync(response, RetryAfterOf(response, _options.TimeProvider), cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false)
            ?? throw new PresenceApiException($"The server answered {(int)response.StatusCode} without a body.");

    /// <summary>Seconds or an HTTP date, as RFC 9110 allows.</summary>
    internal static TimeSpan? RetryAfterOf(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private static async Task<PresenceApiException> ProblemAsync(HttpResponseMessage response, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        ProblemBody? problem = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrWhiteSpace(text))
            {
                problem = JsonSerializer.Deserialize(text, Json.ProblemBody);
            }
        }
        catch (JsonException)
        {
            // Not problem details (a proxy's error page): the status code alone still says what happened.
        }

        var status = response.StatusCode;
        var title = problem?.Title ?? response.ReasonPhrase;
        var detail = problem?.Detail;
        var type = problem?.Type;
        return status switch
        {
            HttpStatusCode.BadRequest => new PresenceBadRequestException(status, title, detail, ErrorsOf(problem?.Errors), type),
            HttpStatusCode.Unauthorized => new PresenceUnauthorizedException(status, title, detail, type),
            HttpStatusCode.Forbidden => new PresenceForbiddenException(status, title, detail, type),
            HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.UnsupportedMediaType => new PresencePayloadRejectedException(status, title, detail, type),
            HttpStatusCode.TooManyRequests => new PresenceRateLimitedException(status, title, detail, retryAfter, type),
            HttpStatusCode.ServiceUnavailable => new PresenceUnavailableException(status, title, detail, retryAfter, type),
            _ => new PresenceApiException(status, title, detail, ErrorsOf(problem?.Errors), retryAfter, type),
        };
    }

    /// <summary>Both shapes in use: FastEndpoints' <c>[{name, reason}]</c> and ASP.NET Core's <c>{field: [messages]}</c>.</summary>
    private static Dictionary<string, string[]> ErrorsOf(JsonElement? errors)
    {
        var result = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        if (errors is not { } element)
        {
            return result;
        }

        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var group in element.EnumerateArray()
                .Where(e => e.ValueKind == JsonValueKind.Object)
                .Select(e => (Name: Text(e, "name") ?? "", Reason: Text(e, "reason") ?? ""))
                .GroupBy(e => e.Name, StringComparer.OrdinalIgnoreCase))
            {
                result[group.Key] = [.. group.Select(e => e.Reason)];
            }
        }
        else if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                result[property.Name] = property.Value.ValueKind == JsonValueKind.Array
                    ? [.. property.Value.EnumerateArray().Select(v => v.ToString())]
                    : [property.Value.ToString()];
            }
        }

        return result;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
