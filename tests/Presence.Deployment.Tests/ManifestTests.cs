using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Presence.ServiceDefaults;

namespace Presence.Deployment.Tests;

/// <summary>Each overlay renders, and every service's Deployment matches what the service really does.</summary>
public sealed partial class ManifestTests
{
    public static TheoryData<string> Overlays => ["dev", "prod"];

    /// <summary>The port Kestrel binds in the container (ASPNETCORE_HTTP_PORTS, also the aspnet image default).</summary>
    public const long HttpPort = 8080;

    private static readonly string[] Public = ["heartbeat-api", "status-query", "realtime-gateway"];

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_service_has_one_deployment_and_nothing_else_claims_to_be_presence(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        var presence = r.OfKind("Deployment")
            .Where(d => d.PodLabels()["app.kubernetes.io/part-of"]?.ToString() == "presence")
            .Select(Rendered.Name).Order(StringComparer.Ordinal);
        Assert.Equal(Repo.Services.Select(s => s.Folder), presence);
        foreach (var service in Repo.Services)
        {
            var deployment = r.Get("Deployment", service.Folder);
            Assert.Equal(service.Folder, deployment.PodLabels()[Manifest.NameLabel]?.ToString());
            Assert.Contains($"presence/{service.Folder}", deployment.App().Str("image"), StringComparison.Ordinal);
            Assert.Equal(service.Folder, deployment.PodSpec().Str("serviceAccountName"));
            Assert.NotNull(r.Find("ServiceAccount", service.Folder));
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void The_container_port_is_the_port_kestrel_binds_and_services_and_probes_use_it(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        foreach (var service in Repo.Services)
        {
            var app = r.Get("Deployment", service.Folder).App();
            var http = app["ports"]!.AsArray().Single(p => (string?)p!["name"] == "http")!;
            Assert.Equal(HttpPort, (long)http["containerPort"]!);
            Assert.Equal(HttpPort.ToString(CultureInfo.InvariantCulture), app.EnvValue("ASPNETCORE_HTTP_PORTS"));
            Assert.Equal(HttpPort, app.ResolvePort(app["livenessProbe"]!["httpGet"]!["port"]!));
            Assert.Equal(HttpPort, app.ResolvePort(app["readinessProbe"]!["httpGet"]!["port"]!));
            Assert.Equal(HttpPort, app.ResolvePort(app["startupProbe"]!["httpGet"]!["port"]!));
            if (r.Find("Service", service.Folder) is { } svc)
            {
                Assert.True(svc.ServiceSelects(r.Get("Deployment", service.Folder).PodLabels()), $"Service {service.Folder} selects its pods");
                Assert.All(svc["spec"]!["ports"]!.AsArray(), p => Assert.Equal(HttpPort, app.ResolvePort(p!["targetPort"]!)));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Probes_use_the_real_health_paths(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        foreach (var service in Repo.Services)
        {
            var app = r.Get("Deployment", service.Folder).App();
            Assert.Equal(Extensions.HealthLivePath, app.Str("livenessProbe.httpGet.path"));
            Assert.Equal(Extensions.HealthReadyPath, app.Str("readinessProbe.httpGet.path"));
            Assert.Equal(Extensions.HealthLivePath, app.Str("startupProbe.httpGet.path"));
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_container_has_resources_and_a_locked_down_security_context_with_a_writable_tmp(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        var workloads = r.OfKind("Deployment").Concat(r.OfKind("StatefulSet")).ToList();
        Assert.NotEmpty(workloads);
        foreach (var workload in workloads)
        {
            var name = Rendered.Name(workload);
            var pod = workload.PodSpec();
            Assert.True(pod.Has("securityContext.runAsNonRoot") && (bool)pod["securityContext"]!["runAsNonRoot"]!, $"{name}: runAsNonRoot");
            Assert.False((bool?)pod["automountServiceAccountToken"] ?? true, $"{name}: no service account token");
            foreach (var container in workload.Containers())
            {
                var what = $"{name}/{container["name"]}";
                foreach (var path in new[] { "resources.requests.cpu", "resources.requests.memory", "resources.limits.cpu", "resources.limits.memory" })
                {
                    Assert.True(container.Has(path), $"{what}: {path}");
                }

                var security = container["securityContext"]!;
                Assert.True((bool)security["readOnlyRootFilesystem"]!, $"{what}: readOnlyRootFilesystem");
                Assert.False((bool)security["allowPrivilegeEscalation"]!, $"{what}: allowPrivilegeEscalation");
                Assert.Equal(["ALL"], security["capabilities"]!["drop"]!.AsArray().Select(c => c!.ToString()));
                var tmp = container["volumeMounts"]!.AsArray().Single(m => (string?)m!["mountPath"] == "/tmp")!;
                var volume = pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == (string?)tmp["name"])!;
                Assert.True(volume.Has("emptyDir"), $"{what}: /tmp is an emptyDir");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Shutdown_drains_within_the_grace_period_after_the_pre_stop_pause(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        foreach (var service in Repo.Services)
        {
            var deployment = r.Get("Deployment", service.Folder);
            var app = deployment.App();
            var pause = (long)app["lifecycle"]!["preStop"]!["sleep"]!["seconds"]!;
            var shutdown = long.Parse(app.EnvValue("DOTNET_SHUTDOWNTIMEOUTSECONDS")!, CultureInfo.InvariantCulture);
            var grace = (long)deployment.PodSpec()["terminationGracePeriodSeconds"]!;
            Assert.True(pause > 0, $"{service}: preStop pause");
            Assert.True(grace >= pause + shutdown + 5,
                $"{service}: terminationGracePeriodSeconds {grace} leaves no margin after preStop {pause} s + host shutdown {shutdown} s");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Telemetry_env_names_the_service_and_points_at_the_rendered_collector(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        var collector = r.Get("Service", "otel-collector");
        foreach (var service in Repo.Services)
        {
            var deployment = r.Get("Deployment", service.Folder);
            var app = deployment.App();
            var endpoint = new Uri(app.EnvValue("OTEL_EXPORTER_OTLP_ENDPOINT")!);
            Assert.Equal("otel-collector", endpoint.Host);
            Assert.Contains(collector["spec"]!["ports"]!.AsArray(), p => (long)p!["port"]! == endpoint.Port);
            Assert.Equal("grpc", app.EnvValue("OTEL_EXPORTER_OTLP_PROTOCOL"));
            var serviceName = app.EnvVar("OTEL_SERVICE_NAME")!;
            var label = LabelRef().Match(serviceName.Str("valueFrom.fieldRef.fieldPath")).Groups[1].Value;
            Assert.Equal(service.Folder, deployment.PodLabels()[label]?.ToString());
            var attributes = app.EnvValue("OTEL_RESOURCE_ATTRIBUTES")!;
            Assert.Contains("service.namespace=presence", attributes, StringComparison.Ordinal);
            Assert.Contains("deployment.environment.name=", attributes, StringComparison.Ordinal);
            Assert.Contains("k8s.pod.name=", attributes, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Env_references_are_defined_before_use_and_config_maps_and_secrets_are_wired(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        foreach (var service in Repo.Services)
        {
            var app = r.Get("Deployment", service.Folder).App();
            var defined = new HashSet<string>(StringComparer.Ordinal);
            foreach (var env in app.Env())
            {
                foreach (Match m in VariableRef().Matches((string?)env["value"] ?? ""))
                {
                    Assert.True(defined.Contains(m.Groups[1].Value), $"{service}: {env["name"]} uses $({m.Groups[1].Value}) before it is defined");
                }

                defined.Add((string)env["name"]!);
                if (env["valueFrom"]?["configMapKeyRef"] is { } cmRef)
                {
                    Assert.True(r.Get("ConfigMap", (string)cmRef["name"]!)["data"]!.AsObject().ContainsKey((string)cmRef["key"]!), $"{service}: {env["name"]}");
                }
            }

            foreach (var source in app["envFrom"]!.AsArray())
            {
                Assert.NotNull(r.Find("ConfigMap", source!.Str("configMapRef.name")));
            }

            var redis = app.EnvVar("ConnectionStrings__redis")!["valueFrom"]!["secretKeyRef"]!;
            Assert.NotEqual(true, (bool?)redis["optional"]);
            var signingKey = app.EnvVar("Auth__SigningKey")!["valueFrom"]!["secretKeyRef"]!;
            Assert.True((bool)signingKey["optional"]!, "the HS256 key is optional: OIDC (Auth__Authority) needs none");
        }
    }

    [Fact]
    public void Production_commits_no_secret_and_development_only_a_passwordless_redis_address()
    {
        Assert.Empty(Kustomize.Overlay("prod").OfKind("Secret"));
        var dev = Kustomize.Overlay("dev");
        var secret = Assert.Single(dev.OfKind("Secret"));
        Assert.StartsWith("presence-redis", Rendered.Name(secret), StringComparison.Ordinal);
        var data = secret["data"]!.AsObject();
        Assert.Equal(["connection-string"], data.Select(kv => kv.Key));
        var connection = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String((string)data["connection-string"]!));
        Assert.DoesNotContain("password", connection, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("redis:6379", connection, StringComparison.Ordinal);
        Assert.Equal(Rendered.Name(secret), dev.Get("Deployment", "heartbeat-api").App().EnvVar("ConnectionStrings__redis").Str("valueFrom.secretKeyRef.name"));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void The_presence_options_in_the_config_map_are_real_options_and_pass_validation(string overlay)
    {
        var data = Kustomize.Overlay(overlay).Get("ConfigMap", "presence-config")["data"]!.AsObject();
        var settings = data.Where(kv => kv.Key.StartsWith(PresenceOptions.Section + "__", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key.Replace("__", ":", StringComparison.Ordinal), kv => kv.Value?.ToString());
        Assert.NotEmpty(settings);
        var properties = typeof(PresenceOptions).GetProperties().Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Assert.All(settings.Keys, key => Assert.Contains(key.Split(':')[1], properties));
        var options = new PresenceOptions();
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(PresenceOptions.Section).Bind(options);
        var result = new PresenceOptionsValidator().Validate(Options.DefaultName, options);
        Assert.True(result.Succeeded, result.FailureMessage);
        Assert.Equal("false", data["Telemetry__Prometheus"]?.ToString());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Only_the_public_services_have_a_service_and_the_janitor_has_neither_service_nor_ingress(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        var selected = r.OfKind("Service").Where(s =>
                r.OfKind("Deployment").Any(d => d.PodLabels()["app.kubernetes.io/part-of"]?.ToString() == "presence" && s.ServiceSelects(d.PodLabels())))
            .Select(Rendered.Name).Order(StringComparer.Ordinal);
        Assert.Equal(Public.Order(StringComparer.Ordinal), selected);
        Assert.DoesNotContain(new IngressRouter(r).Paths, p => p.Service == "janitor");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Only_the_presence_pods_may_reach_redis(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        var policy = r.Get("NetworkPolicy", "redis-from-presence-only");
        var spec = policy["spec"]!;
        Assert.Equal(["Ingress"], spec["policyTypes"]!.AsArray().Select(t => t!.ToString()));
        var from = Assert.Single(spec["ingress"]!.AsArray())!["from"]!.AsArray().Select(f => f!["podSelector"]!).ToList();
        Assert.All(spec["ingress"]![0]!["from"]!.AsArray(), f => Assert.Null(f!["namespaceSelector"]));
        bool Allowed(JsonObject labels) => from.Any(s => s.Selects(labels));
        foreach (var service in Repo.Services)
        {
            Assert.True(Allowed(r.Get("Deployment", service.Folder).PodLabels()), $"{service} reaches Redis");
        }

        foreach (var other in r.OfKind("Deployment").Concat(r.OfKind("StatefulSet"))
            .Where(w => Repo.Services.All(s => s.Folder != Rendered.Name(w))))
        {
            Assert.False(Allowed(other.PodLabels()), $"{Rendered.Name(other)} must not reach Redis");
        }

        if (r.Find("StatefulSet", "redis") is { } redis)
        {
            Assert.True(spec["podSelector"]!.Selects(redis.PodLabels()), "the policy selects the in-cluster Redis");
        }
    }

    [Fact]
    public void Dev_runs_one_replica_each_and_a_redis_with_expiry_notifications_and_aof()
    {
        var r = Kustomize.Overlay("dev");
        Assert.All(Repo.Services, s => Assert.Equal(1L, (long)r.Get("Deployment", s.Folder)["spec"]!["replicas"]!));
        var redis = r.Get("StatefulSet", "redis");
        var container = redis.Containers().Single();
        var args = container["args"]!.AsArray().Select(a => a!.ToString()).ToList();
        var conf = r.Get("ConfigMap", "redis")["data"]!["redis.conf"]!.ToString();
        Assert.True(Setting(args, conf, "notify-keyspace-events") is { } events && events.Contains('E', StringComparison.Ordinal) && events.Contains('x', StringComparison.Ordinal),
            "notify-keyspace-events includes E and x");
        Assert.Equal("yes", Setting(args, conf, "appendonly"));
        Assert.True(redis["spec"]!.Has("volumeClaimTemplates"), "the AOF lives on a volume");
        var url = new Uri("redis://" + RedisAddress(r));
        Assert.Equal("redis", url.Host);
        Assert.Equal((long)r.Get("Service", "redis")["spec"]!["ports"]![0]!["port"]!, url.Port);

        static string RedisAddress(Rendered r) => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(
            (string)r.OfKind("Secret").Single()["data"]!["connection-string"]!)).Split(',')[0];
    }

    [Fact]
    public void Prod_autoscales_the_public_services_without_a_replicas_field_budgets_disruptions_and_spreads_pods()
    {
        var r = Kustomize.Overlay("prod");
        var scaled = r.OfKind("HorizontalPodAutoscaler").ToList();
        Assert.Equal(Public.Order(StringComparer.Ordinal), scaled.Select(h => h.Str("spec.scaleTargetRef.name")).Order(StringComparer.Ordinal));
        Assert.All(scaled, h =>
        {
            Assert.Equal("Deployment", h.Str("spec.scaleTargetRef.kind"));
            Assert.True((long)h["spec"]!["minReplicas"]! >= 2);
            Assert.Contains(h["spec"]!["metrics"]!.AsArray(), m => m.Str("resource.name") == "cpu");
        });
        foreach (var service in Repo.Services)
        {
            var deployment = r.Get("Deployment", service.Folder);
            if (Public.Contains(service.Folder))
            {
                // An apply or GitOps sync of spec.replicas would reset what the autoscaler chose.
                Assert.False(deployment["spec"]!.AsObject().ContainsKey("replicas"), $"{service}: HPA-managed, so no replicas field");
            }
            else
            {
                Assert.True((long)deployment["spec"]!["replicas"]! >= 2, $"{service}: 2+ replicas");
            }

            var pdb = r.OfKind("PodDisruptionBudget").SingleOrDefault(p => p["spec"]!["selector"]!.Selects(deployment.PodLabels()));
            Assert.True(pdb is not null, $"{service}: one PodDisruptionBudget");
            var spread = deployment.PodSpec()["topologySpreadConstraints"]!.AsArray();
            Assert.Contains(spread, c => (string?)c!["topologyKey"] == "kubernetes.io/hostname");
            Assert.All(spread, c => Assert.True(c!["labelSelector"]!.Selects(deployment.PodLabels())));
        }

        Assert.Null(r.Find("StatefulSet", "redis"));
    }

    /// <summary>Measured: 574 MiB at 10,000 hub connections, 48-57 KiB each (docs/operations.md, "Gateway sizing").</summary>
    private const double KiBPerConnection = 57;

    /// <summary>The runtime's own footprint with no connection (docs/operations.md, "Gateway sizing").</summary>
    private const double BaselineMiB = 100;

    [Theory]
    [MemberData(nameof(Overlays))]
    public void The_gateway_memory_fits_its_target_connections_per_pod(string overlay)
    {
        var gateway = Kustomize.Overlay(overlay).Get("Deployment", "realtime-gateway");
        var target = TargetConnections(gateway);
        Assert.InRange(target, 1000, 20000);
        var request = MiB(gateway.App().Str("resources.requests.memory"));
        var limit = MiB(gateway.App().Str("resources.limits.memory"));
        var atTarget = target * KiBPerConnection / 1024;
        Assert.True(request >= atTarget + BaselineMiB * 0.9, $"request {request} MiB < {target} connections x {KiBPerConnection} KiB + baseline");
        Assert.True(limit >= 1.5 * atTarget + BaselineMiB, $"limit {limit} MiB leaves no room for 1.5x the target while a scale-out runs");
    }

    [Fact]
    public void Keda_scales_the_gateway_on_connections_per_pod_and_cpu_instead_of_the_plain_hpa()
    {
        var r = Kustomize.Compose("prod", "keda-gateway");
        Assert.Null(r.Find("HorizontalPodAutoscaler", "realtime-gateway"));
        Assert.NotNull(r.Find("HorizontalPodAutoscaler", "heartbeat-api"));
        var scaled = r.Get("ScaledObject", "realtime-gateway");
        Assert.Equal("realtime-gateway", scaled.Str("spec.scaleTargetRef.name"));
        Assert.True((long)scaled["spec"]!["minReplicaCount"]! >= 2);
        var triggers = scaled["spec"]!["triggers"]!.AsArray();
        Assert.Contains(triggers, t => (string?)t!["type"] == "cpu");
        var prometheus = triggers.Single(t => (string?)t!["type"] == "prometheus")!;
        Assert.Equal("AverageValue", prometheus.Str("metricType"));
        Assert.Equal(TargetConnections(r.Get("Deployment", "realtime-gateway")).ToString(CultureInfo.InvariantCulture), prometheus.Str("metadata.threshold"));
        Assert.Contains("signalr_server_active_connections", prometheus.Str("metadata.query"), StringComparison.Ordinal);
        Assert.False(r.Get("Deployment", "realtime-gateway")["spec"]!.AsObject().ContainsKey("replicas"));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_config_map_a_pod_reads_is_generated_with_a_content_hash(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        var generated = r.OfKind("ConfigMap").Select(Rendered.Name).ToHashSet(StringComparer.Ordinal);
        var read = 0;
        foreach (var workload in r.OfKind("Deployment").Concat(r.OfKind("StatefulSet")))
        {
            var pod = workload.PodSpec();
            var names = workload.Containers().SelectMany(c =>
                    (c["envFrom"]?.AsArray() ?? []).Select(e => (string?)e!["configMapRef"]?["name"])
                    .Concat(c.Env().Select(e => (string?)e["valueFrom"]?["configMapKeyRef"]?["name"])))
                .Concat((pod["volumes"]?.AsArray() ?? []).Select(v => (string?)v!["configMap"]?["name"]))
                .OfType<string>();
            foreach (var name in names)
            {
                read++;
                Assert.Contains(name, generated);
                Assert.Matches(@"-[a-z0-9]{10}$", name);
            }
        }

        Assert.True(read >= 5, "the services and the collector read ConfigMaps");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void One_frontend_url_reaches_every_service(string overlay)
    {
        var r = Kustomize.Overlay(overlay);
        var config = r.Get("ConfigMap", "presence-config");
        var origin = new Uri(config["data"]!["FRONTEND_URL"]!.ToString());
        Assert.Equal(origin.GetLeftPart(UriPartial.Authority), origin.ToString().TrimEnd('/'));
        foreach (var service in Repo.Services)
        {
            var app = r.Get("Deployment", service.Folder).App();
            Assert.Contains(app["envFrom"]!.AsArray(), e => (string?)e!["configMapRef"]?["name"] == Rendered.Name(config));
            Assert.Null(app.EnvVar("FRONTEND_URL"));
        }
    }

    private static long TargetConnections(JsonObject gateway) =>
        long.Parse(gateway["metadata"]!["annotations"]!["presence.io/target-connections-per-pod"]!.ToString(), CultureInfo.InvariantCulture);

    private static double MiB(string quantity) => quantity switch
    {
        _ when quantity.EndsWith("Gi", StringComparison.Ordinal) => double.Parse(quantity[..^2], CultureInfo.InvariantCulture) * 1024,
        _ when quantity.EndsWith("Mi", StringComparison.Ordinal) => double.Parse(quantity[..^2], CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException($"Unexpected memory quantity {quantity}."),
    };

    [Fact]
    public void The_prometheus_scrape_component_turns_on_metrics_and_annotates_the_http_port()
    {
        var r = Kustomize.Compose("prod", "prometheus-scrape");
        Assert.Equal("true", r.Get("ConfigMap", "presence-config")["data"]!["Telemetry__Prometheus"]!.ToString());
        foreach (var service in Repo.Services)
        {
            var annotations = r.Get("Deployment", service.Folder)["spec"]!["template"]!["metadata"]!["annotations"]!;
            Assert.Equal("true", annotations["prometheus.io/scrape"]!.ToString());
            Assert.Equal(HttpPort.ToString(CultureInfo.InvariantCulture), annotations["prometheus.io/port"]!.ToString());
            Assert.Equal("/metrics", annotations["prometheus.io/path"]!.ToString());
        }
    }

    private static string? Setting(List<string> args, string conf, string name)
    {
        var flag = args.IndexOf("--" + name);
        if (flag >= 0 && flag + 1 < args.Count)
        {
            return args[flag + 1];
        }

        return conf.Split('\n').Select(l => l.Trim().Split(' ', 2))
            .Where(p => p.Length == 2 && p[0] == name).Select(p => p[1].Trim()).LastOrDefault();
    }

    [GeneratedRegex(@"metadata\.labels\['([^']+)'\]")]
    private static partial Regex LabelRef();

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex VariableRef();
}
