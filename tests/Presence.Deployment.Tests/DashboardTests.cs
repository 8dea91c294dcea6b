using System.Text.Json.Nodes;

namespace Presence.Deployment.Tests;

/// <summary>
/// The Grafana dashboard parses and covers what an SRE watches; the alert rules have runbooks; both query only
/// metrics the code emits.
/// </summary>
public sealed partial class DashboardTests
{
    private static readonly Lazy<JsonObject> Json = new(() =>
        JsonNode.Parse(File.ReadAllText(DashboardPath))!.AsObject());

    private static readonly Lazy<IReadOnlyList<Instrument>> Code = new(() => CodeInstruments.Scan("services", "shared"));

    /// <summary>The alerting rules of the PrometheusRule, as rendered with the prometheus-operator component.</summary>
    private static readonly Lazy<List<JsonObject>> Alerts = new(() =>
        [.. AlertRuleTests.Rules().Where(r => r["alert"] is not null)]);

    /// <summary>Recording rules' names (level:metric:operation) are queried like metrics but defined by the rules.</summary>
    private static readonly Lazy<HashSet<string>> Recorded = new(() =>
        [.. AlertRuleTests.Rules().Select(r => (string?)r["record"]).OfType<string>()]);

    public static string DashboardPath => Repo.Path("k8s", "observability", "presence-dashboard.json");

    /// <summary>
    /// Emitted by ASP.NET Core's own meters (AddAspNetCoreInstrumentation in ServiceDefaults), not by Presence code;
    /// the scrape test shows they are served.
    /// </summary>
    public static readonly string[] FrameworkFamilies = ["http_server_request_duration_seconds", "dotnet_process_cpu_time_seconds_total"];

    /// <summary>
    /// ASP.NET Core's SignalR meter, served by the gateway once a hub connection has opened (the gateway's tests scrape
    /// it with a connection open); the hub-connection panels and rules use it instead of a gauge of Presence's own.
    /// </summary>
    public static readonly string[] HubFrameworkFamilies = ["signalr_server_active_connections"];

    /// <summary>Issue 6's panels: heartbeats by role and outcome (throttled, rejected), bucket counts, board build and cache, hub connections and push lag, sweeps and transitions, Redis errors and circuit.</summary>
    private static readonly string[] Required =
    [
        "presence_heartbeats_total", "presence_users", "presence_board_build_duration_seconds_bucket", "presence_query_cache_total",
        "signalr_server_active_connections", "presence_push_lag_seconds_bucket", "presence_janitor_sweep_duration_seconds_bucket",
        "presence_janitor_transitions_total", "presence_redis_errors_total", "presence_redis_circuit_open",
    ];

    public static TheoryData<string> QueriedSeries => [.. Queried().Select(q => q.Series).Distinct().Order(StringComparer.Ordinal)];

    private static IEnumerable<JsonObject> Panels => Json.Value["panels"]!.AsArray().Select(p => p!.AsObject()).Where(p => (string?)p["type"] != "row");

    /// <summary>Every series a dashboard panel or an alert rule queries, with where it is queried.</summary>
    private static IEnumerable<(string Panel, string Series)> Queried() =>
        Panels.SelectMany(p => p["targets"]!.AsArray().SelectMany(t => PromQl.MetricNames((string)t!["expr"]!).Select(s => ("panel " + (string)p["title"]!, s))))
            .Concat(AlertRuleTests.Rules().SelectMany(a => PromQl.MetricNames((string)a["expr"]!)
                .Select(s => ("rule " + (string?)(a["alert"] ?? a["record"]), s))));

    private static IEnumerable<(string Panel, string Series)> Charted() => Queried().Where(q => q.Panel.StartsWith("panel ", StringComparison.Ordinal));

    [Fact]
    public void The_dashboard_is_a_grafana_dashboard_with_a_prometheus_datasource_variable_and_unique_panels()
    {
        var dashboard = Json.Value;
        Assert.False(string.IsNullOrWhiteSpace((string?)dashboard["uid"]));
        Assert.False(string.IsNullOrWhiteSpace((string?)dashboard["title"]));
        Assert.True((int)dashboard["schemaVersion"]! >= 36);
        var variable = Assert.Single(dashboard["templating"]!["list"]!.AsArray(), v => (string?)v!["type"] == "datasource")!;
        Assert.Equal("prometheus", (string?)variable["query"]);
        var all = dashboard["panels"]!.AsArray().Select(p => p!.AsObject()).ToList();
        Assert.Equal(all.Count, all.Select(p => (int)p["id"]!).Distinct().Count());
        Assert.All(Panels, p =>
        {
            Assert.Equal("${" + (string)variable["name"]! + "}", p["datasource"]!["uid"]!.ToString());
            Assert.NotEmpty(p["targets"]!.AsArray());
            Assert.All(p["targets"]!.AsArray(), t => Assert.NotEmpty(PromQl.MetricNames((string)t!["expr"]!)));
            Assert.True(p.Has("gridPos.w") && p.Has("gridPos.h"), $"{p["title"]}: gridPos");
        });
    }

    [Fact]
    public void The_dashboard_has_the_panels_an_sre_needs()
    {
        var queried = Charted().Select(q => q.Series).ToHashSet(StringComparer.Ordinal);
        Assert.All(Required, series => Assert.Contains(series, queried));
        var heartbeats = Panels.SelectMany(p => p["targets"]!.AsArray()).Select(t => (string)t!["expr"]!)
            .Where(e => e.Contains("presence_heartbeats_total", StringComparison.Ordinal)).ToList();
        Assert.Contains(heartbeats, e => e.Contains("role", StringComparison.Ordinal) && e.Contains("outcome", StringComparison.Ordinal));
        Assert.Contains(heartbeats, e => e.Contains("throttled", StringComparison.Ordinal) && e.Contains("rejected", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(QueriedSeries))]
    public void Every_queried_metric_is_emitted_by_the_code(string series)
    {
        var emitted = Code.Value.SelectMany(i => i.PrometheusSeries).ToHashSet(StringComparer.Ordinal);
        var framework = FrameworkFamilies.Concat(HubFrameworkFamilies).SelectMany(f => new[] { f, f + "_bucket", f + "_sum", f + "_count", f + "_total" });
        var isEmitted = emitted.Contains(series) || framework.Contains(series) || Recorded.Value.Contains(series);
        var panels = string.Join("; ", Queried().Where(q => q.Series == series).Select(q => q.Panel).Distinct());
        Assert.True(isEmitted,
            $"The dashboard or the alerts query {series} ({panels}), but no instrument in services/ or shared/ produces it and no recording rule defines it. Emitted: {string.Join(", ", emitted.Order(StringComparer.Ordinal))}");
    }

    [Fact]
    public void Every_alert_has_a_condition_a_duration_a_standard_severity_and_a_runbook_under_the_one_base()
    {
        var headings = File.ReadAllLines(Repo.Path("docs", "operations.md"))
            .Where(l => l.StartsWith('#')).Select(l => l.TrimStart('#').Trim().ToLowerInvariant().Replace(' ', '-')).ToHashSet(StringComparer.Ordinal);
        var runbookBase = File.ReadAllLines(Repo.Path("k8s", "components", "prometheus-operator", "runbook.env"))
            .Single(l => l.StartsWith("RUNBOOK_BASE_URL=", StringComparison.Ordinal))["RUNBOOK_BASE_URL=".Length..];
        Assert.StartsWith("https://", runbookBase, StringComparison.Ordinal);
        Assert.NotEmpty(Alerts.Value);
        Assert.Equal(Alerts.Value.Count, Alerts.Value.Select(a => (string)a["alert"]!).Distinct().Count());
        foreach (var alert in Alerts.Value)
        {
            var name = (string)alert["alert"]!;
            Assert.NotEmpty(PromQl.MetricNames((string)alert["expr"]!));
            Assert.Matches(@"^\d+[smh]$", (string)alert["for"]!);
            Assert.Contains((string)alert["labels"]!["severity"]!, new[] { "critical", "warning" });
            Assert.False(string.IsNullOrWhiteSpace((string?)alert["annotations"]!["summary"]), $"{name}: summary");
            var runbook = (string)alert["annotations"]!["runbook_url"]!;
            Assert.Equal($"{runbookBase}#{name.ToLowerInvariant()}", runbook);
            Assert.True(headings.Contains(runbook.Split('#')[1]), $"{name}: no heading for {runbook} in docs/operations.md");
        }

        var names = Alerts.Value.Select(a => (string)a["alert"]!).ToList();
        Assert.Contains("PresenceNoHeartbeats", names);
        Assert.Contains("PresenceSweepStalled", names);
        Assert.Contains("PresenceRedisCircuitOpen", names);
        Assert.Contains("PresenceJanitorNoLeader", names);
    }

    /// <summary>
    /// presence.users and presence.janitor.leader come from the janitor leader only, and a pod that left may
    /// still be exported for a while: summing them over pods double-counts after every rollout or failover.
    /// </summary>
    [Fact]
    public void Leader_only_gauges_are_never_summed_over_pods()
    {
        var queries = Panels.SelectMany(p => p["targets"]!.AsArray()).Select(t => (string)t!["expr"]!)
            .Concat(AlertRuleTests.Rules().Select(r => (string)r["expr"]!)).ToList();
        var leaderOnly = queries.Where(q => LeaderOnly().IsMatch(q)).ToList();
        Assert.NotEmpty(leaderOnly);
        Assert.All(leaderOnly, q => Assert.DoesNotMatch(SummedLeaderOnly(), q));
        Assert.All(Panels.SelectMany(p => p["targets"]!.AsArray()).Select(t => (string)t!["expr"]!)
                .Where(q => q.Contains("presence_users", StringComparison.Ordinal) || q.Contains("signalr_server_active_connections", StringComparison.Ordinal)),
            q => Assert.Contains("dotnet_process_cpu_time_seconds_total", q, StringComparison.Ordinal));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\bpresence_(users|janitor_leader)\b")]
    private static partial System.Text.RegularExpressions.Regex LeaderOnly();

    [System.Text.RegularExpressions.GeneratedRegex(@"\bsum\s*(by\s*\([^)]*\)\s*)?\(\s*presence_(users|janitor_leader)\b")]
    private static partial System.Text.RegularExpressions.Regex SummedLeaderOnly();

    [Fact]
    public void The_code_scan_finds_the_shared_instruments_with_their_kinds_and_units()
    {
        var byName = Code.Value.ToDictionary(i => i.Name);
        Assert.Equal(("Counter", "{heartbeat}"), (byName["presence.heartbeats"].Kind, byName["presence.heartbeats"].Unit));
        Assert.Equal(("Histogram", "s"), (byName["presence.store.duration"].Kind, byName["presence.store.duration"].Unit));
        Assert.Equal("ObservableGauge", byName["presence.redis.circuit_open"].Kind);
        Assert.Equal("presence_heartbeats_total", byName["presence.heartbeats"].PrometheusName);
        Assert.Equal("presence_store_duration_seconds", byName["presence.store.duration"].PrometheusName);
        Assert.Equal("presence_redis_errors_total", byName["presence.redis.errors"].PrometheusName);
        Assert.Equal("presence_redis_circuit_open", byName["presence.redis.circuit_open"].PrometheusName);
    }

    [Fact]
    public void The_scan_reads_observable_instruments_with_a_callback_and_a_positional_unit()
    {
        const string source = """
            meter.CreateObservableUpDownCounter("presence.hub.connections", () => Interlocked.Read(ref _connections), "{connection}",
                "Hub connections open on this gateway instance.");
            presence.Meter.CreateObservableGauge("presence.janitor.leader", () => lease.IsLeader ? 1 : 0,
                description: "1 while this janitor replica holds the leader lease.");
            _lag = meter.CreateHistogram<double>("presence.push.lag", unit: "s", description: "x", advice: new() { HistogramBucketBoundaries = [0.1, 1] });
            _sweepRemoved = meter.CreateHistogram<long>("presence.janitor.sweep.removals", "{entry}", "Entries, by kind (a, b).");
            """;

        var found = CodeInstruments.Find(source, "x.cs").ToDictionary(i => i.Name);

        Assert.Equal("presence_hub_connections", found["presence.hub.connections"].PrometheusName);
        Assert.Equal("presence_janitor_leader", found["presence.janitor.leader"].PrometheusName);
        Assert.Equal("presence_push_lag_seconds", found["presence.push.lag"].PrometheusName);
        Assert.Equal(["presence_janitor_sweep_removals_bucket", "presence_janitor_sweep_removals_sum", "presence_janitor_sweep_removals_count"],
            found["presence.janitor.sweep.removals"].PrometheusSeries);
    }

    [Fact]
    public void PromQL_metric_names_leave_out_functions_labels_groupings_and_grafana_variables()
    {
        Assert.Equal(["presence_board_build_duration_seconds_bucket"], PromQl.MetricNames(
            """histogram_quantile(0.95, sum by (le, role) (rate(presence_board_build_duration_seconds_bucket{job=~"a|b", x!="rate(y)"}[$__rate_interval])))"""));
        Assert.Equal(["presence_query_cache_total"], PromQl.MetricNames(
            """sum by (resource) (rate(presence_query_cache_total{result="hit"}[5m])) / sum by (resource) (rate(presence_query_cache_total[5m]))"""));
        Assert.Equal(["a_total", "b"], PromQl.MetricNames("sum(a_total) / on (job) group_left (x) max without (instance) (b) > bool 0"));
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void The_overlays_ship_the_dashboard_as_a_grafana_sidecar_config_map(string overlay)
    {
        var configMap = Kustomize.Overlay(overlay).Get("ConfigMap", "presence-dashboard");
        Assert.Equal("1", configMap["metadata"]!["labels"]!["grafana_dashboard"]!.ToString());
        var shipped = JsonNode.Parse(configMap["data"]!["presence-dashboard.json"]!.ToString());
        Assert.True(JsonNode.DeepEquals(Json.Value, shipped));
    }
}
