using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Presence.StatusQuery.Features.Board;

/// <summary>
/// Output caching of the public reads (board, counts). Why ASP.NET Core output caching rather than a cache of
/// our own: it stores the answer bytes per URL, serves hits without running the endpoint, answers
/// <c>If-None-Match</c> from the stored <c>ETag</c> with 304, and its locking makes concurrent misses of one URL
/// wait for one execution (single flight). What it cannot do is keep the last good board through an outage or
/// share one Redis read between URLs, so <see cref="BoardCache"/> sits behind it for that.
/// Unlike the default policy this one caches requests that carry a token: these answers are the same for
/// everyone. Stale and non-200 answers are never stored.
/// </summary>
internal sealed class PublicReadCachePolicy(string resource, params string[] queryKeys) : IOutputCachePolicy
{
    public const string Tag = "presence-public-reads";

    public ValueTask CacheRequestAsync(OutputCacheContext context, CancellationToken cancellation)
    {
        var http = context.HttpContext;
        var options = http.RequestServices.GetRequiredService<IOptionsMonitor<StatusQueryOptions>>().CurrentValue;
        var cacheable = HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method);
        context.EnableOutputCaching = true;
        context.AllowCacheLookup = cacheable;
        context.AllowCacheStorage = cacheable;
        context.AllowLocking = true;
        context.ResponseExpirationTimeSpan = options.BoardRefreshInterval;
        context.Tags.Add(Tag);
        context.Tags.Add(resource);
        // Only the parameters that change the answer are part of the key: other query strings cannot bust the cache.
        context.CacheVaryByRules.QueryKeys = queryKeys;
        // CORS headers are part of the stored answer, so each origin gets its own entry.
        context.CacheVaryByRules.HeaderNames = HeaderNames.Origin;

        var metrics = http.RequestServices.GetRequiredService<StatusQueryMetrics>();
        http.Response.OnStarting(static state =>
        {
            var (response, metrics, resource) = ((HttpResponse, StatusQueryMetrics, string))state;
            if (response.StatusCode == StatusCodes.Status304NotModified)
            {
                metrics.NotModified(resource);
            }

            return Task.CompletedTask;
        }, (http.Response, metrics, resource));
        return ValueTask.CompletedTask;
    }

    public ValueTask ServeFromCacheAsync(OutputCacheContext context, CancellationToken cancellation)
    {
        context.HttpContext.RequestServices.GetRequiredService<StatusQueryMetrics>().Cache(resource, hit: true);
        return ValueTask.CompletedTask;
    }

    public ValueTask ServeResponseAsync(OutputCacheContext context, CancellationToken cancellation)
    {
        context.HttpContext.RequestServices.GetRequiredService<StatusQueryMetrics>().Cache(resource, hit: false);
        if (context.HttpContext.Response.StatusCode != StatusCodes.Status200OK)
        {
            context.AllowCacheStorage = false;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Keeps an answer out of the output cache; call before the body is written (storage is decided when the response starts).</summary>
    public static void DoNotStore(HttpContext http)
    {
        if (http.Features.Get<IOutputCacheFeature>() is { } feature)
        {
            feature.Context.AllowCacheStorage = false;
        }
    }
}
