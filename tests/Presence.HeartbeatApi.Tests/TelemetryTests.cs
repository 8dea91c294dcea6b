using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Presence.HeartbeatApi.Tests;

public sealed class TelemetryTests(RedisServer redis) : HostTests<HeartbeatApiFactory>(new(redis))
{
    [Fact]
    public async Task Heartbeats_are_counted_by_role_transport_and_outcome_and_store_latency_is_recorded()
    {
        using var heartbeats = App.Services.Collect<long>("presence.heartbeats");
        using var latency = App.Services.Collect<double>("presence.store.duration");
        using var therapist = App.CreateClient(DevTokens.Therapist("t-1"));
        using var badId = App.CreateClient(DevTokens.Therapist("bad id"));

        await therapist.PostAsync("/v1/therapists/heartbeat", null, Ct);
        await therapist.PostAsync("/v1/therapists/heartbeat", null, Ct);
        await badId.PostAsync("/v1/therapists/heartbeat", null, Ct);

        var byOutcome = heartbeats.GetMeasurementSnapshot()
            .GroupBy(m => (string?)m.Tags["outcome"])
            .ToDictionary(g => g.Key!, g => g.Sum(m => m.Value));
        Assert.Equal(1, byOutcome["accepted"]);
        Assert.Equal(1, byOutcome["throttled"]);
        Assert.Equal(1, byOutcome["rejected"]);
        Assert.All(heartbeats.GetMeasurementSnapshot(), m =>
        {
            Assert.Equal("therapist", m.Tags["role"]);
            Assert.Equal("rest", m.Tags["transport"]);
        });
        Assert.Equal(2, latency.GetMeasurementSnapshot().Count(m => (string?)m.Tags["operation"] == "heartbeat"));
    }

    [Fact]
    public async Task Each_heartbeat_gets_a_span_with_role_and_outcome()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == HeartbeatApiExtensions.ActivitySourceName,
            Sample = (ref _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (spans)
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var client = App.CreateClient(DevTokens.Community("c-span"));
        // Other test classes run in parallel: this test's spans are the ones in its own trace.
        var traceId = ActivityTraceId.CreateRandom();
        client.DefaultRequestHeaders.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");

        await client.PostAsync("/v1/community/heartbeat", null, Ct);
        await client.PostAsync("/v1/community/heartbeat", null, Ct);

        Activity[] mine;
        lock (spans)
        {
            mine = [.. spans.Where(s => s.OperationName == "heartbeat" && s.TraceId == traceId)];
        }

        Assert.Equal(["accepted", "throttled"], mine.Select(s => (string?)s.GetTagItem("outcome")).ToArray());
        Assert.All(mine, s => Assert.Equal("community", s.GetTagItem("role")));
    }
}
