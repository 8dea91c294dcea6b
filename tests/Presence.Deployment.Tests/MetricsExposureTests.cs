using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Presence.ServiceDefaults;

namespace Presence.Deployment.Tests;

/// <summary>
/// Telemetry:Prometheus=true serves /metrics (for clusters without a collector), and the names it serves are
/// the ones <see cref="PrometheusNaming"/> predicts: the dashboard test relies on that prediction.
/// </summary>
[Collection(HostsCollection.Name)]
public sealed partial class MetricsExposureTests(ServiceHosts hosts)
{
    [Fact]
    public async Task With_Telemetry_Prometheus_a_service_serves_presence_metrics_under_the_predicted_names()
    {
        var service = Repo.Services.Single(s => s.Folder == "heartbeat-api");
        await using var app = ServiceApp.Create(service, hosts.Redis, new Dictionary<string, string?> { ["Telemetry:Prometheus"] = "true" });
        using var client = app.CreateClient(DevTokens.Therapist("t-metrics"));
        var heartbeat = await client.PostAsync("/v1/therapists/heartbeat", null, Ct);
        Assert.Equal(HttpStatusCode.OK, heartbeat.StatusCode);
        // The host (and its meter listener) runs now: one instrument of every kind and unit the code uses, on the same meter name, recorded once.
        using var meter = new Meter("Presence");
        var probes = CodeInstruments.Scan("services", "shared")
            .Select(i => (i.Kind, i.Unit)).Distinct()
            .Select((k, n) => Create(meter, new Instrument($"presence.deploytest.{n}.{k.Kind.ToLowerInvariant()}", k.Kind, k.Unit, "test")))
            .ToList();

        var response = await client.GetAsync("/metrics", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var families = Families(await response.Content.ReadAsStringAsync(Ct));
        Assert.Contains("presence_heartbeats_total", families);
        Assert.Contains("presence_store_duration_seconds", families);
        Assert.Contains("presence_redis_circuit_open", families);
        Assert.All(DashboardTests.FrameworkFamilies, f => Assert.Contains(f, families));
        // Kestrel's memory pool meter is listened to, but not its instruments recorded on every 4 KiB block (the test
        // host has no Kestrel: instruments of the same names stand in, and the host's listener enables them or not).
        using var pool = new Meter(TelemetryExtensions.MemoryPoolMeter);
        Assert.True(pool.CreateCounter<long>("aspnetcore.memory_pool.allocated", "By").Enabled);
        Assert.All(TelemetryExtensions.PerBlockInstruments, name => Assert.False(pool.CreateCounter<long>(name, "By").Enabled, name));
        Assert.All(probes, p => Assert.True(families.Contains(p.PrometheusName),
            $"{p.Kind} '{p.Name}' (unit '{p.Unit}') was expected as {p.PrometheusName}; served: {string.Join(", ", families.Where(f => f.Contains("deploytest", StringComparison.Ordinal)))}"));
    }

    [Fact]
    public async Task Without_Telemetry_Prometheus_there_is_no_scrape_endpoint()
    {
        using var client = hosts[Repo.Services.Single(s => s.Folder == "heartbeat-api")].CreateClient();

        var response = await client.GetAsync("/metrics", Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static HashSet<string> Families(string exposition) =>
        [.. TypeLine().Matches(exposition).Select(m => m.Groups[1].Value)];

    private static Instrument Create(Meter meter, Instrument i)
    {
        switch (i.Kind)
        {
            case "Counter":
                meter.CreateCounter<long>(i.Name, i.Unit).Add(1);
                break;
            case "Histogram":
                meter.CreateHistogram<double>(i.Name, i.Unit).Record(0.01);
                break;
            case "UpDownCounter":
                meter.CreateUpDownCounter<long>(i.Name, i.Unit).Add(1);
                break;
            case "Gauge":
                meter.CreateGauge<long>(i.Name, i.Unit).Record(1);
                break;
            case "ObservableCounter":
                meter.CreateObservableCounter(i.Name, () => 1L, i.Unit);
                break;
            case "ObservableUpDownCounter":
                meter.CreateObservableUpDownCounter(i.Name, () => 1L, i.Unit);
                break;
            case "ObservableGauge":
                meter.CreateObservableGauge(i.Name, () => 1L, i.Unit);
                break;
            default:
                throw new InvalidOperationException($"Unknown instrument kind {i.Kind}.");
        }

        return i;
    }

    // "# TYPE presence_heartbeats_total counter": the family name as served (histogram families without _bucket).
    [GeneratedRegex(@"^# TYPE (\S+) \S+", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}
