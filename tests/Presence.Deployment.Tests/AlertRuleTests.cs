using System.Text.Json.Nodes;

namespace Presence.Deployment.Tests;

/// <summary>
/// The Prometheus Operator component: its PrometheusRule passes <c>promtool check rules</c> and the unit tests
/// in rules/presence-rules.test.yaml (every alert fires in a test of its own; a janitor leader failover, a leader
/// crash and a gateway rollout page nobody and count nothing twice); its PodMonitor scrapes every Presence pod.
/// </summary>
public sealed class AlertRuleTests
{
    private static Rendered WithOperator => Kustomize.Compose("prod", "prometheus-operator");

    /// <summary>Every recording and alerting rule of the rendered PrometheusRule, in file order.</summary>
    public static IEnumerable<JsonObject> Rules() =>
        Spec()["groups"]!.AsArray().SelectMany(g => g!["rules"]!.AsArray()).Select(r => r!.AsObject());

    private static JsonObject Spec() => WithOperator.Get("PrometheusRule", "presence")["spec"]!.AsObject();

    private static string TestFile => Repo.Path("tests", "Presence.Deployment.Tests", "rules", "presence-rules.test.yaml");

    [Fact]
    public void Promtool_checks_the_rules_and_runs_their_unit_tests()
    {
        var dir = Directory.CreateTempSubdirectory("presence-rules-");
        try
        {
            // The spec of a PrometheusRule is a Prometheus rule file; JSON is YAML.
            File.WriteAllText(Path.Combine(dir.FullName, "presence-rules.yaml"), Spec().ToJsonString());
            File.Copy(TestFile, Path.Combine(dir.FullName, "presence-rules.test.yaml"));
            var check = Tools.Run(Tools.Promtool, ["check", "rules", "presence-rules.yaml"], dir.FullName, TimeSpan.FromMinutes(1));
            Assert.True(check.ExitCode == 0, check.Output);
            Assert.Contains($"SUCCESS: {Rules().Count()} rules found", check.Output, StringComparison.Ordinal);
            var test = Tools.Run(Tools.Promtool, ["test", "rules", "presence-rules.test.yaml"], dir.FullName, TimeSpan.FromMinutes(1));
            Assert.True(test.ExitCode == 0, test.Output);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Every_alert_is_shown_firing_by_a_unit_test()
    {
        var tests = Kustomize.Parse(File.ReadAllText(TestFile)).Single()["tests"]!.AsArray();
        var firing = tests.SelectMany(t => t!["alert_rule_test"]?.AsArray() ?? [])
            .Where(a => a!["exp_alerts"]!.AsArray().Count > 0).Select(a => (string)a!["alertname"]!).ToHashSet(StringComparer.Ordinal);
        Assert.All(Rules().Select(r => (string?)r["alert"]).OfType<string>(), alert => Assert.Contains(alert, firing));
        var names = tests.Select(t => (string)t!["name"]!).ToList();
        Assert.Contains("janitor leader failover during a rollout", names);
        Assert.Contains("janitor leader crash", names);
        Assert.Contains("gateway rollout", names);
    }

    [Fact]
    public void The_pod_monitor_scrapes_the_http_port_of_every_presence_pod_which_serves_metrics()
    {
        var r = WithOperator;
        var monitor = r.Get("PodMonitor", "presence");
        Assert.Equal("kube-prometheus-stack", monitor.Str("metadata.labels.release"));
        Assert.Equal("kube-prometheus-stack", r.Get("PrometheusRule", "presence").Str("metadata.labels.release"));
        var endpoint = monitor["spec"]!["podMetricsEndpoints"]!.AsArray().Single()!;
        Assert.Equal("/metrics", endpoint.Str("path"));
        foreach (var service in Repo.Services)
        {
            var deployment = r.Get("Deployment", service.Folder);
            Assert.True(monitor["spec"]!["selector"]!.Selects(deployment.PodLabels()), $"{service}: selected by the PodMonitor");
            Assert.Contains(deployment.App()["ports"]!.AsArray(), p => (string?)p!["name"] == endpoint.Str("port"));
        }

        Assert.All(r.OfKind("Deployment").Where(d => Repo.Services.All(s => s.Folder != Rendered.Name(d))),
            d => Assert.False(monitor["spec"]!["selector"]!.Selects(d.PodLabels()), $"{Rendered.Name(d)} serves no /metrics"));
        Assert.Equal("true", r.Get("ConfigMap", "presence-config")["data"]!["Telemetry__Prometheus"]!.ToString());
        Assert.DoesNotContain(r.OfKind("ConfigMap"), c => Rendered.Name(c).StartsWith("presence-alerting", StringComparison.Ordinal));
    }

    [Fact]
    public void The_over_target_alert_takes_the_gateway_target_from_its_one_place()
    {
        var target = WithOperator.Get("Deployment", "realtime-gateway")["metadata"]!["annotations"]!["presence.io/target-connections-per-pod"]!.ToString();
        var expr = (string)Rules().Single(r => (string?)r["alert"] == "PresenceGatewayOverTarget")["expr"]!;
        Assert.EndsWith($"> 1.2 * {target}", expr, StringComparison.Ordinal);
        Assert.DoesNotContain(Rules(), r => ((string)r["expr"]!).Contains("TARGET_CONNECTIONS_PER_POD", StringComparison.Ordinal));
    }
}
