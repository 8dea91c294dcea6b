using System.Text.Json.Nodes;
using Presence.ServiceDefaults;

namespace Presence.Deployment.Tests;

/// <summary>
/// The ingress routes every public endpoint to the service that serves it: the contract of README.md ("HTTP API", "Hub"),
/// and every route the running services actually map (so a new endpoint without an ingress path fails here).
/// </summary>
[Collection(HostsCollection.Name)]
public sealed class IngressTests(ServiceHosts hosts)
{
    public static TheoryData<string> Overlays => ["dev", "prod"];

    /// <summary>README.md, "HTTP API" and "Hub": each public path and the service that serves it.</summary>
    public static readonly IReadOnlyList<(string Method, string Path, string Service)> Contract =
    [
        ("POST", "/v1/therapists/heartbeat", "heartbeat-api"),
        ("POST", "/v1/community/heartbeat", "heartbeat-api"),
        ("PUT", "/v1/therapists/availability", "heartbeat-api"),
        ("POST", "/v1/therapists/offline", "heartbeat-api"),
        ("POST", "/v1/community/offline", "heartbeat-api"),
        ("GET", "/v1/therapists/status/realtime", "status-query"),
        ("GET", "/v1/presence/therapist/t-1", "status-query"),
        ("POST", "/v1/presence/query", "status-query"),
        ("GET", "/v1/presence/stats", "status-query"),
        ("GET", "/", "status-query"),
        ("GET", "/hubs/presence", "realtime-gateway"),
        ("POST", "/hubs/presence/negotiate", "realtime-gateway"),
    ];

    /// <summary>Served by every service for the kubelet and Prometheus; never routed to the internet.</summary>
    private static readonly string[] Internal = [Extensions.HealthLivePath, Extensions.HealthReadyPath, "/metrics"];

    /// <summary>
    /// Route prefixes that are not public API: probes, scrape endpoint, API descriptions, and FastEndpoints'
    /// route cache for route-less test calls (mapped only under WebApplicationFactory).
    /// </summary>
    private static readonly string[] NotPublic = ["/health", "/metrics", "/openapi", "/swagger", "/_test_url_cache_"];

    [Theory]
    [MemberData(nameof(Overlays))]
    public void The_contract_paths_reach_the_service_that_serves_them(string overlay)
    {
        var router = new IngressRouter(Kustomize.Overlay(overlay));
        Assert.All(Contract, c => Assert.Equal(c.Service, router.Route(c.Path)?.Service));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_route_a_service_maps_is_routed_to_that_service(string overlay)
    {
        var router = new IngressRouter(Kustomize.Overlay(overlay));
        var checkedRoutes = 0;
        foreach (var service in Repo.Services)
        {
            foreach (var (template, methods) in hosts[service].Routes())
            {
                if (NotPublic.Any(p => template == p || template.StartsWith(p + "/", StringComparison.Ordinal)))
                {
                    continue;
                }

                Assert.True(service.Folder != "janitor", $"the janitor has no ingress, yet maps {string.Join(',', methods)} {template}");
                var path = IngressRouter.SamplePath(template);
                var routed = router.Route(path);
                Assert.True(routed?.Service == service.Folder,
                    $"{string.Join(',', methods)} {template} is served by {service.Folder}, but the ingress sends {path} to {routed?.Service ?? "nothing"} (add a path to k8s/base/ingress.yaml)");
                Assert.False(routed!.Annotations.ContainsKey("nginx.ingress.kubernetes.io/denylist-source-range"), $"{template} is public but denied");
                checkedRoutes++;
            }
        }

        Assert.True(checkedRoutes >= 5, $"only {checkedRoutes} public routes found in the services' endpoint tables");
    }

    [Fact]
    public void The_services_really_serve_the_probe_paths()
    {
        foreach (var service in Repo.Services)
        {
            var templates = hosts[service].Routes().Select(r => r.Template).ToList();
            Assert.Contains(Extensions.HealthLivePath, templates);
            Assert.Contains(Extensions.HealthReadyPath, templates);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Probe_and_scrape_paths_are_denied_at_the_ingress(string overlay)
    {
        var router = new IngressRouter(Kustomize.Overlay(overlay));
        foreach (var path in Internal)
        {
            var routed = router.Route(path);
            Assert.NotNull(routed);
            Assert.Equal("0.0.0.0/0,::/0", routed.Annotations["nginx.ingress.kubernetes.io/denylist-source-range"]?.ToString());
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void The_hub_gets_sticky_sessions_and_long_websocket_timeouts_and_nothing_else_does(string overlay)
    {
        var router = new IngressRouter(Kustomize.Overlay(overlay));
        var hub = router.Route("/hubs/presence")!;
        Assert.Equal("cookie", hub.Annotations["nginx.ingress.kubernetes.io/affinity"]?.ToString());
        Assert.Equal("/hubs", hub.Annotations["nginx.ingress.kubernetes.io/session-cookie-path"]?.ToString());
        Assert.True(int.Parse(hub.Annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 300);
        Assert.True(int.Parse(hub.Annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 300);
        Assert.All(router.Paths.Where(p => p.Service != "realtime-gateway"),
            p => Assert.False(p.Annotations.ContainsKey("nginx.ingress.kubernetes.io/affinity"), $"{p.Path} needs no affinity"));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void One_host_one_ingress_class_and_backends_that_exist(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        var router = new IngressRouter(r);
        Assert.NotEmpty(router.Host);
        Assert.All(r.OfKind("Ingress"), i => Assert.Equal("nginx", i.Str("spec.ingressClassName")));
        foreach (var path in router.Paths)
        {
            var service = r.Get("Service", path.Service);
            Assert.Contains(service["spec"]!["ports"]!.AsArray(), p => (string?)p!["name"] == "http");
        }

        if (overlay == "prod")
        {
            Assert.All(r.OfKind("Ingress"), i => Assert.Equal(router.Host, i["spec"]!["tls"]![0]!["hosts"]![0]!.ToString()));
        }
    }

    [Fact]
    public void In_prod_the_hub_affinity_cookie_is_sent_by_a_frontend_on_another_site()
    {
        var r = Kustomize.Overlay("prod");
        var hub = new IngressRouter(r).Route("/hubs/presence")!;
        Assert.Equal("None", hub.Annotations["nginx.ingress.kubernetes.io/session-cookie-samesite"]?.ToString());
        Assert.Equal("true", hub.Annotations["nginx.ingress.kubernetes.io/session-cookie-secure"]?.ToString());
        Assert.NotNull(r.Get("Ingress", hub.Ingress)["spec"]!["tls"]);
        var frontend = new Uri(r.Get("ConfigMap", "presence-config")["data"]!["FRONTEND_URL"]!.ToString());
        Assert.NotEqual(new IngressRouter(r).Host, frontend.Host);
    }

    /// <summary>A browser's SignalR WebSocket and SSE requests carry the JWT as ?access_token=: no log may keep the query.</summary>
    [Fact]
    public void The_ingress_access_log_format_never_logs_the_query_string()
    {
        var file = Kustomize.Parse(File.ReadAllText(Repo.Path("k8s", "cluster", "ingress-nginx-log-format.yaml"))).Single();
        var format = file["data"]!["log-format-upstream"]!.ToString();
        var variables = System.Text.RegularExpressions.Regex.Matches(format, @"\$[a-z_0-9]+").Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("$uri", variables);
        Assert.Contains("$status", variables);
        foreach (var leaky in new[] { "$request", "$request_uri", "$args", "$query_string", "$is_args" })
        {
            Assert.DoesNotContain(leaky, variables);
        }

        Assert.DoesNotContain(variables, v => v.StartsWith("$arg_", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void The_gateway_api_routes_send_every_path_where_the_ingress_does(string overlay)
    {
        var ingress = new IngressRouter(Kustomize.Overlay(overlay));
        var r = Kustomize.Compose(overlay, "gateway-api");
        Assert.Empty(r.OfKind("Ingress"));
        var routes = r.OfKind("HTTPRoute").ToList();
        Assert.NotEmpty(routes);
        var rules = routes.SelectMany(route => route["spec"]!["rules"]!.AsArray().Select(rule => (Route: Rendered.Name(route), Rule: rule!.AsObject()))).ToList();
        (string Route, JsonObject Rule)? RouteOf(string path) => rules
            .SelectMany(x => x.Rule["matches"]!.AsArray().Select(m => (x, Prefix: m!.Str("path.value"), Type: m.Str("path.type"))))
            .Where(m => m.Type == "PathPrefix" && (m.Prefix == "/" || path == m.Prefix.TrimEnd('/') || path.StartsWith(m.Prefix.TrimEnd('/') + "/", StringComparison.Ordinal)))
            .OrderByDescending(m => m.Prefix.TrimEnd('/').Length).Select(m => ((string, JsonObject)?)m.x).FirstOrDefault();
        static string? Backend(JsonObject rule) => rule["backendRefs"]?.AsArray().Single()!.Str("name");

        foreach (var (_, path, service) in Contract)
        {
            Assert.Equal(service, RouteOf(path) is { } x ? Backend(x.Rule) : null);
        }

        foreach (var path in ingress.Paths.Where(p => !p.Annotations.ContainsKey("nginx.ingress.kubernetes.io/denylist-source-range")))
        {
            Assert.Equal(path.Service, RouteOf(path.Path) is { } x ? Backend(x.Rule) : null);
        }

        foreach (var path in Internal)
        {
            var rule = RouteOf(path)!.Value.Rule;
            Assert.Null(rule["backendRefs"]);
            Assert.Equal("RequestRedirect", rule["filters"]![0]!.Str("type"));
        }

        var hub = RouteOf("/hubs/presence")!.Value.Rule;
        Assert.Equal("0s", hub.Str("timeouts.request"));
        Assert.Null(hub["sessionPersistence"]);
        var sticky = Kustomize.Compose(overlay, "gateway-api", "gateway-api-session-persistence").Get("HTTPRoute", "presence-hubs");
        Assert.Equal("Cookie", sticky["spec"]!["rules"]![0]!.Str("sessionPersistence.type"));
        Assert.All(routes, route => Assert.Equal(routes[0]["spec"]!["parentRefs"]!.ToJsonString(), route["spec"]!["parentRefs"]!.ToJsonString()));
    }
}
