using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Presence.HeartbeatApi.Features.Heartbeats;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi.Tests;

/// <summary>Alone: an activity is recorded when any listener in the process asks for it, so no other host may run meanwhile.</summary>
[CollectionDefinition(nameof(TraceSamplingTests), DisableParallelization = true)]
public sealed class TraceSamplingCollection;

/// <summary>
/// Heartbeat writes are traced at <c>Telemetry:HeartbeatTraceRatio</c>, everything else always, and a sampled incoming
/// <c>traceparent</c> always (docs/architecture.md, "Telemetry"). The spans are the service's own OpenTelemetry
/// decisions, seen by a listener that asks for nothing itself.
/// </summary>
[Collection(nameof(TraceSamplingTests))]
public sealed class TraceSamplingTests(RedisServer redis) : HostTests<HeartbeatApiFactory>(new(redis))
{
    private const string HostingSource = "Microsoft.AspNetCore";

    [Theory]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public async Task A_heartbeat_root_span_is_recorded_at_the_ratio(string ratio, bool recorded)
    {
        App.Settings["Telemetry:HeartbeatTraceRatio"] = ratio;
        using var spans = new StoppedSpans();
        using var client = App.CreateClient(DevTokens.Community("c-sampled"));

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(HeartbeatEndpoint.Route(PresenceRole.Community), null, Ct)).StatusCode);

        var request = await spans.SingleRequestAsync();
        Assert.Equal(recorded, request.Recorded);
        // The heartbeat span is a child: recorded with its root, never created without it.
        Assert.Equal(recorded, spans.Of(HeartbeatApiExtensions.ActivitySourceName).Any(s => s.TraceId == request.TraceId && s.Recorded));
    }

    [Fact]
    public async Task A_sampled_incoming_traceparent_records_a_heartbeat_at_ratio_0()
    {
        App.Settings["Telemetry:HeartbeatTraceRatio"] = "0";
        using var spans = new StoppedSpans();
        using var client = App.CreateClient(DevTokens.Therapist("t-forced"));
        var traceId = ActivityTraceId.CreateRandom();
        client.DefaultRequestHeaders.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(HeartbeatEndpoint.Route(PresenceRole.Therapist), null, Ct)).StatusCode);

        var request = await spans.SingleRequestAsync();
        Assert.Equal(traceId, request.TraceId);
        Assert.True(request.Recorded);
        Assert.Contains(spans.Of(HeartbeatApiExtensions.ActivitySourceName), s => s.TraceId == traceId && s.Recorded);
    }

    [Fact]
    public async Task Other_requests_are_recorded_at_ratio_0()
    {
        App.Settings["Telemetry:HeartbeatTraceRatio"] = "0";
        using var spans = new StoppedSpans();
        using var client = App.CreateClient(DevTokens.Therapist("t-other"));

        await client.PutAsync("/v1/therapists/availability", Http.Json("""{"available":true}"""), Ct);

        Assert.True((await spans.SingleRequestAsync()).Recorded);
    }

    [Fact]
    public async Task A_ratio_above_1_stops_the_service_at_start()
    {
        App.Settings["Telemetry:HeartbeatTraceRatio"] = "1.5";

        var refused = Assert.Throws<OptionsValidationException>(() => App.Services);

        Assert.Contains("Telemetry:HeartbeatTraceRatio", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Redis_commands_are_not_profiled_under_an_unrecorded_activity()
    {
        var session = new StackExchange.Redis.Profiling.ProfilingSession();
        var gate = RecordedParentsProfiler.Gate(() => session);
        using var unrecorded = new Activity("unrecorded").Start();
        unrecorded.ActivityTraceFlags = ActivityTraceFlags.None;
        Assert.Null(gate());

        unrecorded.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        Assert.Same(session, gate());
    }

    [Fact]
    public async Task A_failed_heartbeat_logs_under_its_trace_id_when_its_trace_is_not_recorded()
    {
        var logs = new ActivityLogs();
        await using var app = new LoggingApp(redis, logs);
        app.Settings["Telemetry:HeartbeatTraceRatio"] = "0";
        // Nothing listens on port 1: the heartbeat fails at once, a 503 and a warning of the exception handler.
        app.Settings["ConnectionStrings:redis"] = "127.0.0.1:1,connectTimeout=200";
        using var spans = new StoppedSpans();
        using var client = app.CreateClient(DevTokens.Community("c-failed"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsync(HeartbeatEndpoint.Route(PresenceRole.Community), null, Ct)).StatusCode);

        var request = await spans.SingleRequestAsync();
        Assert.False(request.Recorded);
        // The log exporter takes the current activity's ids, recorded or not: the warning names the request's trace.
        var warning = Assert.Single(logs.Entries, e => e.Category.EndsWith("PresenceExceptionHandler", StringComparison.Ordinal));
        Assert.Equal(request.TraceId, warning.TraceId);
    }

    /// <summary>heartbeat-api with one more logger, which notes the current activity's trace id of each warning.</summary>
    private sealed class LoggingApp(RedisServer redis, ActivityLogs logs) : PresenceAppFactory<Program>(redis)
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureServices(services => services.AddSingleton<ILoggerProvider>(logs));
        }
    }

    private sealed class ActivityLogs : ILoggerProvider
    {
        private readonly List<(string Category, ActivityTraceId TraceId)> _entries = [];

        public (string Category, ActivityTraceId TraceId)[] Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ActivityLogs logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (logs._entries)
                {
                    logs._entries.Add((category, Activity.Current?.TraceId ?? default));
                }
            }
        }
    }

    /// <summary>Every activity of the request, the heartbeat and Redis sources that stops, recorded or not.</summary>
    private sealed class StoppedSpans : IDisposable
    {
        private readonly List<Activity> _stopped = [];
        private readonly ActivityListener _listener;

        public StoppedSpans()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name is HostingSource or HeartbeatApiExtensions.ActivitySourceName,
                // Asks for nothing: whether an activity exists and is recorded is the service's decision alone.
                Sample = (ref _) => ActivitySamplingResult.None,
                ActivityStopped = a =>
                {
                    lock (_stopped)
                    {
                        _stopped.Add(a);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public Activity[] Of(string source)
        {
            lock (_stopped)
            {
                return [.. _stopped.Where(a => a.Source.Name == source)];
            }
        }

        /// <summary>The one request activity, once it has stopped (it stops just after the answer is sent).</summary>
        public async Task<Activity> SingleRequestAsync()
        {
            await Poll.UntilAsync(() => Of(HostingSource).Length > 0, "the request's activity stopped");
            return Assert.Single(Of(HostingSource));
        }

        public void Dispose() => _listener.Dispose();
    }
}
