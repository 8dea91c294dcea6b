using System.Diagnostics;
using System.Reflection;
using System.Runtime.ExceptionServices;
using OpenTelemetry;
using OpenTelemetry.Instrumentation.AspNetCore;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Presence.Core;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;

namespace Presence.ServiceDefaults;

/// <summary>Logs, metrics and traces of every service: OpenTelemetry, exported over OTLP when configured.</summary>
public static class TelemetryExtensions
{
    /// <summary>The standard variable naming the SDK's sampler; when set, the SDK's own reading of it wins.</summary>
    public const string TracesSamplerVariable = "OTEL_TRACES_SAMPLER";

    /// <summary>Kestrel's memory pool meter, whose per-block instruments no service collects.</summary>
    public const string MemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";

    /// <summary>
    /// The memory pool's instruments recorded on every 4 KiB block rented and returned (docs/architecture.md, "Kestrel's
    /// per-block memory pool instruments"): ~120 measurements per board poll, two or more per heartbeat. Dropped by a
    /// view, so nothing listens and Kestrel records nothing per block; the pool's growth
    /// (<c>aspnetcore.memory_pool.allocated</c>) and eviction (<c>aspnetcore.memory_pool.evicted</c>) stay.
    /// </summary>
    public static readonly IReadOnlySet<string> PerBlockInstruments = new HashSet<string>(StringComparer.Ordinal)
    {
        "aspnetcore.memory_pool.rented",
        "aspnetcore.memory_pool.pooled",
    };

    /// <summary>The key of the multiplexer view the Redis instrumentation registers its profiler through.</summary>
    private const string RedisInstrumentationKey = "presence-redis-instrumentation";

    public static void AddPresenceTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var section = builder.Configuration.GetSection(TelemetryOptions.Section);
        // Development records every trace unless configured otherwise (the local dashboard shows each heartbeat);
        // registered before the binding, so a configured ratio wins.
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddOptions<TelemetryOptions>().Configure(o => o.HeartbeatTraceRatio = development ? 1 : o.HeartbeatTraceRatio);
        builder.Services.AddValidatedOptions<TelemetryOptions, TelemetryOptionsValidator>(section);
        builder.Services.AddOptions<HeartbeatTraceRoutes>();
        var settings = section.Get<TelemetryOptions>() ?? new TelemetryOptions();
        // Heartbeat writes are sampled unless the standard variable names a sampler (docs/architecture.md, "Telemetry").
        var sampleHeartbeats = string.IsNullOrWhiteSpace(builder.Configuration[TracesSamplerVariable]);
        builder.Services.AddOptions<AspNetCoreTraceInstrumentationOptions>()
            .Configure<IOptions<TelemetryOptions>, IOptions<HeartbeatTraceRoutes>>((o, telemetry, routes) =>
                o.Filter = sampleHeartbeats
                    ? HeartbeatTraceSampling.Filter(telemetry.Value.HeartbeatTraceRatio, routes.Value.Paths)
                    : HeartbeatTraceSampling.NotHealth);
        if (settings.RedisCommandSpans)
        {
            builder.Services.AddKeyedSingleton(RedisInstrumentationKey, (sp, _) =>
                RecordedParentsProfiler.Wrap(sp.GetRequiredService<IConnectionMultiplexer>()));
        }

        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddMeter(PresenceMetrics.MeterName)
                    .AddView(instrument => instrument.Meter.Name == MemoryPoolMeter && PerBlockInstruments.Contains(instrument.Name)
                        ? MetricStreamConfiguration.Drop
                        : null);
                if (settings.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(builder.Environment.ApplicationName, "Presence.*")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (settings.RedisCommandSpans)
                {
                    // Each command span keeps its duration; its three timing events (enqueued, sent, answered) are
                    // opt-in: they were a tenth of the bytes a REST heartbeat allocated (docs/benchmarks.md). The
                    // instrumentation sees the multiplexer through RecordedParentsProfiler: no profiling of a command
                    // whose trace is not recorded.
                    tracing.AddRedisInstrumentation(name: null, serviceKey: RedisInstrumentationKey,
                        o => o.EnrichActivityWithTimingEvents = settings.RedisCommandTimingEvents);
                }
            });

        // OTLP only when the standard variable says where to; the exporter reads the other OTEL_* variables itself.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }
    }

    /// <summary>
    /// Names a <c>POST</c> path whose root traces are recorded at <see cref="TelemetryOptions.HeartbeatTraceRatio"/>: the
    /// service that maps a heartbeat write names it (heartbeat-api).
    /// </summary>
    public static IServiceCollection AddHeartbeatTraceRoute(this IServiceCollection services, string path) =>
        services.Configure<HeartbeatTraceRoutes>(r => r.Paths.Add(new PathString(path)));
}

/// <summary>Section <c>Telemetry</c>: what every service records and exports besides the standard <c>OTEL_*</c> variables.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Serves a Prometheus scrape endpoint at <c>/metrics</c> (clusters without a collector).</summary>
    public bool Prometheus { get; set; }

    /// <summary>A span per Redis command (StackExchange.Redis instrumentation), under the span that issued it.</summary>
    public bool RedisCommandSpans { get; set; } = true;

    /// <summary>The three timing events (enqueued, sent, answered) on each Redis command span; off by default.</summary>
    public bool RedisCommandTimingEvents { get; set; }

    /// <summary>
    /// Share (0 to 1) of heartbeat-write traces that start here and are recorded, decided by trace id so a trace is
    /// whole or absent; a sampled incoming <c>traceparent</c> is always followed, and every other root is recorded.
    /// 0.1 by default, 1 in Development (docs/architecture.md, "Telemetry").
    /// </summary>
    public double HeartbeatTraceRatio { get; set; } = 0.1;
}

internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options) =>
        options.HeartbeatTraceRatio is >= 0 and <= 1
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{TelemetryOptions.Section}:{nameof(TelemetryOptions.HeartbeatTraceRatio)} must be between 0 and 1 (was {options.HeartbeatTraceRatio}).");
}

/// <summary>The heartbeat-write paths of this service (<see cref="TelemetryExtensions.AddHeartbeatTraceRoute"/>).</summary>
public sealed class HeartbeatTraceRoutes
{
    public List<PathString> Paths { get; } = [];
}

/// <summary>
/// Head sampling of heartbeat writes (docs/architecture.md, "Telemetry"). ASP.NET Core 10 gives the sampler no path
/// when it creates the request's activity (its OpenTelemetry tags are suppressed by default), so the decision is the
/// AspNetCore instrumentation's filter, run as the request starts: a root heartbeat write it refuses is left
/// unrecorded, and the SDK's parent-based sampler drops every child of it (the heartbeat span, the Redis command).
/// </summary>
internal static class HeartbeatTraceSampling
{
    public static readonly Func<HttpContext, bool> NotHealth = static ctx => !IsHealth(ctx.Request);

    public static Func<HttpContext, bool> Filter(double ratio, IReadOnlyList<PathString> heartbeatPaths)
    {
        if (ratio >= 1 || heartbeatPaths.Count == 0)
        {
            return NotHealth;
        }

        // TraceIdRatioBasedSampler's own decision: the same trace id gives the same answer in every service.
        var sampler = new TraceIdRatioBasedSampler(ratio);
        PathString[] paths = [.. heartbeatPaths];
        return ctx =>
        {
            var request = ctx.Request;
            if (IsHealth(request))
            {
                return false;
            }

            if (!HttpMethods.IsPost(request.Method) || !IsAny(request.Path, paths))
            {
                return true;
            }

            // A sampled incoming traceparent made this activity recorded and stays so; only a root is sampled here.
            // The instrumentation runs this as the request's activity starts: it is the current one (the request's
            // activity feature is set only after).
            var activity = Activity.Current;
            return activity is null
                || activity.ParentSpanId != default
                || sampler.ShouldSample(new SamplingParameters(default, activity.TraceId, activity.OperationName, ActivityKind.Server)).Decision
                    == SamplingDecision.RecordAndSample;
        };
    }

    private static bool IsHealth(HttpRequest request) => request.Path.StartsWithSegments("/health", StringComparison.Ordinal);

    private static bool IsAny(PathString path, PathString[] paths)
    {
        foreach (var p in paths)
        {
            // Routing matches case-insensitively and takes a trailing slash.
            if (path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase, out var rest) && (!rest.HasValue || rest.Value == "/"))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// The multiplexer as the Redis instrumentation sees it: everything is the real one's, but the profiler it registers
/// hands out no session while the current activity is unrecorded. The instrumentation would otherwise attach a
/// profiling session (and StackExchange.Redis a profiled command per message) to every unsampled heartbeat, only for
/// its drain to drop the command span under the parent-based sampler (docs/architecture.md, "Telemetry").
/// </summary>
public class RecordedParentsProfiler : DispatchProxy
{
    private IConnectionMultiplexer _inner = null!;

    public static IConnectionMultiplexer Wrap(IConnectionMultiplexer inner)
    {
        var proxy = Create<IConnectionMultiplexer, RecordedParentsProfiler>();
        ((RecordedParentsProfiler)(object)proxy)._inner = inner;
        return proxy;
    }

    /// <summary>No session under an unrecorded activity; without a current activity the factory decides as before.</summary>
    public static Func<ProfilingSession?> Gate(Func<ProfilingSession?> factory) =>
        () => Activity.Current is { Recorded: false } ? null : factory();

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == nameof(IConnectionMultiplexer.RegisterProfiler) && args is [Func<ProfilingSession?> factory])
        {
            _inner.RegisterProfiler(Gate(factory));
            return null;
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
