using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Presence.Core;

namespace Presence.ServiceDefaults;

/// <summary>Logs, metrics and traces of every service: OpenTelemetry, exported over OTLP when configured.</summary>
public static class TelemetryExtensions
{
    public static void AddPresenceTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var prometheus = builder.Configuration.GetValue<bool>("Telemetry:Prometheus");
        var redisTracing = builder.Configuration.GetValue("Telemetry:RedisCommandSpans", true);
        var redisTimingEvents = builder.Configuration.GetValue("Telemetry:RedisCommandTimingEvents", false);
        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddMeter(PresenceMetrics.MeterName);
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(builder.Environment.ApplicationName, "Presence.*")
                    .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
                    .AddHttpClientInstrumentation();
                if (redisTracing)
                {
                    // Each command span keeps its duration; its three timing events (enqueued, sent, answered) are
                    // opt-in: they were a tenth of the bytes a REST heartbeat allocated (docs/benchmarks.md).
                    tracing.AddRedisInstrumentation(o => o.EnrichActivityWithTimingEvents = redisTimingEvents);
                }
            });

        // OTLP only when the standard variable says where to; the exporter reads the other OTEL_* variables itself.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }
    }
}
