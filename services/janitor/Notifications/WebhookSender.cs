using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Presence.Janitor.Notifications;

/// <summary>
/// Signed webhook deliveries (Standard Webhooks headers), paced per endpoint by a token bucket and retried through
/// Polly with jittered exponential backoff; the caller dead-letters what still fails after the last attempt.
/// </summary>
internal sealed partial class WebhookSender : IDisposable
{
    private readonly HttpClient _http;
    private readonly IOptionsMonitor<NotificationOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookSender> _logger;
    private readonly PartitionedRateLimiter<Uri> _pacing;
    private readonly ResiliencePipeline _retry;

    public WebhookSender(HttpClient http, IOptionsMonitor<NotificationOptions> options, TimeProvider time, ILogger<WebhookSender> logger)
    {
        _http = http;
        _options = options;
        _time = time;
        _logger = logger;
        var o = options.CurrentValue;
        _pacing = PartitionedRateLimiter.Create<Uri, string>(uri => RateLimitPartition.GetTokenBucketLimiter(uri.GetLeftPart(UriPartial.Authority),
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = o.RequestsPerSecond,
                TokensPerPeriod = o.RequestsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            }));
        _retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>().Handle<TaskCanceledException>(),
                MaxRetryAttempts = o.MaxAttempts - 1,
                Delay = o.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    LogRetry(_logger, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>Delivers one signed body; throws after the last attempt failed.</summary>
    public async Task SendAsync(string eventId, string body, CancellationToken ct)
    {
        var o = _options.CurrentValue;
        var url = o.WebhookUrl ?? throw new InvalidOperationException("Notifications:WebhookUrl is not set.");
        var key = o.SecretKey;
        await _retry.ExecuteAsync(async token =>
        {
            using var lease = await _pacing.AcquireAsync(url, 1, token).ConfigureAwait(false);
            // Signed per attempt: the timestamp is when this attempt was sent, so the receiver's replay window holds.
            var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
            };
            request.Headers.Add("webhook-id", eventId);
            request.Headers.Add("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", WebhookSignature.Sign(key, eventId, timestamp, body));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
            timeout.CancelAfter(o.AttemptTimeout);
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            // Any 2xx is delivered; anything else (including 4xx: the receiver may be mid-deploy) is retried.
            response.EnsureSuccessStatusCode();
        }, ct).ConfigureAwait(false);
    }

    public void Dispose() => _pacing.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook attempt {Attempt} after {Delay}.")]
    private static partial void LogRetry(ILogger logger, int attempt, TimeSpan delay, Exception? exception);
}
