using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Presence.Client;

/// <summary>
/// The HTTP retry of this client, on Microsoft.Extensions.Http.Resilience: a <c>503</c> is retried after the server's
/// <c>Retry-After</c> (1 s without one), at most <see cref="PresenceClientOptions.UnavailableRetries"/> times, and not at
/// all when <c>Retry-After</c> is longer than <see cref="PresenceClientOptions.MaxRetryAfterWait"/> (the exception then
/// carries it). <c>429</c> is not retried: it says the caller came too soon.
/// </summary>
public static class PresenceResilience
{
    /// <summary>The name of the resilience handler <see cref="PresenceClientServiceCollectionExtensions.AddPresenceClient"/> adds.</summary>
    public const string HandlerName = "presence-retry";

    private static readonly TimeSpan DefaultDelay = TimeSpan.FromSeconds(1);

    /// <summary>The retry strategy for these options.</summary>
    public static HttpRetryStrategyOptions RetryOptions(PresenceClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var maxWait = options.MaxRetryAfterWait;
        return new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = Math.Max(1, options.UnavailableRetries),
            BackoffType = DelayBackoffType.Constant,
            Delay = DefaultDelay,
            UseJitter = false,
            ShouldRetryAfterHeader = true,
            ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Result is { StatusCode: HttpStatusCode.ServiceUnavailable } response
                && (PresenceClient.RetryAfterOf(response, options.TimeProvider) ?? DefaultDelay) <= maxWait),
        };
    }

    /// <summary>Adds the retry to a pipeline (none when <see cref="PresenceClientOptions.UnavailableRetries"/> is 0).</summary>
    public static ResiliencePipelineBuilder<HttpResponseMessage> AddPresenceRetry(this ResiliencePipelineBuilder<HttpResponseMessage> builder, PresenceClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return options.UnavailableRetries > 0 ? builder.AddRetry(RetryOptions(options)) : builder;
    }

    /// <summary>
    /// A delegating handler with the retry, for an <see cref="HttpClient"/> built by hand: set its
    /// <see cref="DelegatingHandler.InnerHandler"/>, or pass it to a factory that chains handlers.
    /// </summary>
    public static DelegatingHandler CreateHandler(PresenceClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = options.TimeProvider }.AddPresenceRetry(options).Build();
        return new ResilienceHandler(pipeline);
    }
}
