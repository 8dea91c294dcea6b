using System.Text.Json.Nodes;

namespace Presence.Deployment.Tests;

/// <summary>
/// The rendered NetworkPolicies, taken as a whole: which pods and addresses can reach which, over every port
/// each one listens on, equals exactly the flows Presence needs (base/network-policies.yaml) — nothing else.
/// </summary>
public sealed class NetworkPolicyTests
{
    private static readonly string[] Services = ["heartbeat-api", "janitor", "realtime-gateway", "status-query"];
    private static readonly string[] Public = ["heartbeat-api", "realtime-gateway", "status-query"];

    /// <summary>The namespace's own workloads plus the cluster's and the internet's parties, with their ports.</summary>
    private static List<Peer> Peers(Rendered r, string ns)
    {
        var i = 10;
        var peers = r.OfKind("Deployment").Concat(r.OfKind("StatefulSet")).Select(w => Peer.Workload(w, ns, $"10.0.0.{i++}")).ToList();
        peers.AddRange(
        [
            // A pod someone starts in the namespace (kubectl run, a debug pod): no Presence labels.
            Peer.Pod("stray-pod", ns, new JsonObject { ["run"] = "debug" }, "10.0.0.99", ("http", 8080, "TCP")),
            Peer.Pod("ingress-nginx", "ingress-nginx", new JsonObject { ["app.kubernetes.io/name"] = "ingress-nginx" }, "10.0.1.1", ("http", 80, "TCP")),
            Peer.Pod("gateway-envoy", "gateway-system", new JsonObject { ["app"] = "envoy" }, "10.0.1.2", ("http", 10080, "TCP")),
            Peer.Pod("prometheus", "monitoring", new JsonObject { ["app.kubernetes.io/name"] = "prometheus" }, "10.0.2.1", ("web", 9090, "TCP")),
            Peer.Pod("kube-dns", "kube-system", new JsonObject { ["k8s-app"] = "kube-dns" }, "10.0.3.1", ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")),
            Peer.Pod("tempo", "observability", new JsonObject { ["app.kubernetes.io/name"] = "tempo" }, "10.0.4.1", ("otlp-grpc", 4317, "TCP")),
            Peer.Pod("other-app", "other", new JsonObject { ["app.kubernetes.io/name"] = "other-app" }, "10.0.5.1", ("http", 8080, "TCP")),
            Peer.External("oidc-authority", "20.190.1.1", 443),
            Peer.External("managed-redis", "10.20.0.5", 6379, 6380),
            Peer.External("internet-host", "93.184.216.34", 80, 443),
        ]);
        return peers;
    }

    private static IEnumerable<string> Flows(IEnumerable<string> from, string to, params string[] ports) =>
        from.SelectMany(f => ports.Select(p => $"{f} -> {to}:{p}"));

    /// <summary>What every rendering allows: DNS for every pod, ingress to the public services, collector in and out, OIDC.</summary>
    private static List<string> Common(IEnumerable<string> namespacePods, IEnumerable<string> ingressFrom) =>
    [
        .. Flows(namespacePods, "kube-dns", "53/UDP", "53/TCP"),
        .. ingressFrom.SelectMany(source => Public.Select(s => $"{source} -> {s}:8080/TCP")),
        .. Flows(Services, "otel-collector", "4317/TCP", "4318/TCP"),
        "prometheus -> otel-collector:8889/TCP",
        "otel-collector -> tempo:4317/TCP",
        // The OIDC egress admits any public address on 443 until an overlay narrows it to the provider's ranges.
        .. Flows(Public, "oidc-authority", "443/TCP"),
        .. Flows(Public, "internet-host", "443/TCP"),
    ];

    [Fact]
    public void Dev_allows_exactly_the_flows_presence_needs()
    {
        var r = Kustomize.Overlay("dev");
        var peers = Peers(r, "presence-dev");
        var expected = Common([.. Services, "otel-collector", "redis", "stray-pod"], ["ingress-nginx"]);
        expected.AddRange(Flows(Services, "redis", "6379/TCP"));
        Assert.Equal(expected.Order(StringComparer.Ordinal), new NetworkPolicies(r, "presence-dev").Matrix(peers));
    }

    [Fact]
    public void Prod_allows_exactly_the_flows_presence_needs_with_the_external_redis()
    {
        var r = Kustomize.Overlay("prod");
        var expected = Common([.. Services, "otel-collector", "stray-pod"], ["ingress-nginx"]);
        expected.AddRange(Flows(Services, "managed-redis", "6379/TCP", "6380/TCP"));
        Assert.Equal(expected.Order(StringComparer.Ordinal), new NetworkPolicies(r, "presence").Matrix(Peers(r, "presence")));
    }

    [Fact]
    public void The_components_open_exactly_the_scrape_and_gateway_flows_they_need()
    {
        var r = Kustomize.Compose("prod", "prometheus-operator", "gateway-api");
        var expected = Common([.. Services, "otel-collector", "stray-pod"], ["gateway-envoy"]);
        expected.AddRange(Flows(Services, "managed-redis", "6379/TCP", "6380/TCP"));
        expected.AddRange(Services.Select(s => $"prometheus -> {s}:8080/TCP"));
        Assert.Equal(expected.Order(StringComparer.Ordinal), new NetworkPolicies(r, "presence").Matrix(Peers(r, "presence")));
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Everything_starts_denied_in_both_directions(string overlay)
    {
        var deny = Kustomize.Overlay(overlay).Get("NetworkPolicy", "default-deny")["spec"]!;
        Assert.Empty(deny["podSelector"]!.AsObject());
        Assert.Equal(["Ingress", "Egress"], deny["policyTypes"]!.AsArray().Select(t => (string)t!));
        Assert.Null(deny["ingress"]);
        Assert.Null(deny["egress"]);
    }

    /// <summary>The evaluator itself: a namespace without policies allows all; one rule is read field by field.</summary>
    [Fact]
    public void The_evaluator_follows_the_network_policy_semantics()
    {
        var a = Peer.Pod("a", "ns", new JsonObject { ["app"] = "a" }, "10.0.0.1", ("http", 8080, "TCP"));
        var b = Peer.Pod("b", "ns", new JsonObject { ["app"] = "b" }, "10.0.0.2", ("http", 8080, "TCP"));
        var none = new NetworkPolicies(new Rendered([], ""), "ns");
        Assert.True(none.Allows(a, b, 8080, "TCP"));
        var policy = Kustomize.Parse("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: b-from-a}
            spec:
              podSelector: {matchLabels: {app: b}}
              policyTypes: [Ingress]
              ingress:
                - from: [{podSelector: {matchLabels: {app: a}}}]
                  ports: [{port: http}]
            """);
        var one = new NetworkPolicies(new Rendered(policy, ""), "ns");
        Assert.True(one.Allows(a, b, 8080, "TCP"));
        Assert.False(one.Allows(a, b, 8080, "UDP"));
        Assert.False(one.Allows(b, b with { Name = "b2" }, 8080, "TCP"));
        Assert.True(one.Allows(b, a, 8080, "TCP"));
        var elsewhere = a with { Name = "a-elsewhere", Namespace = "other" };
        Assert.False(one.Allows(elsewhere, b, 8080, "TCP"));
    }
}
