namespace Presence.Deployment.Tests;

/// <summary>
/// Every overlay, alone and with the components it may add, renders and validates against the Kubernetes
/// schemas (and the Prometheus Operator, KEDA and Gateway API CRD schemas) offline; k8s/ passes yamllint and
/// the scripts pass shellcheck. The tools are installed by <see cref="Tools"/> when missing.
/// </summary>
public sealed class ValidationTests
{
    /// <summary>Each overlay with no component, and with every component that fits it.</summary>
    private static readonly (string Overlay, string Components)[] Combinations =
    [
        ("dev", ""),
        ("prod", ""),
        ("prod", "prometheus-operator,keda-gateway,gateway-api,gateway-api-session-persistence"),
        ("dev", "prometheus-scrape,keda-gateway"),
    ];

    public static TheoryData<string, string> Renderings
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var (overlay, components) in Combinations)
            {
                data.Add(overlay, components);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Renderings))]
    public void The_rendered_manifests_are_valid_kubernetes_objects(string overlay, string components)
    {
        var list = components.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var rendered = list.Length == 0 ? Kustomize.Overlay(overlay) : Kustomize.Compose(overlay, list);
        var file = Path.Combine(Path.GetTempPath(), $"presence-{overlay}-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, rendered.Yaml);
        try
        {
            var run = Tools.ValidateSchemas(file);
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains($"{rendered.Objects.Count} objects, 0 invalid", run.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>CRD groups the Kubernetes API models do not cover: the schema validator above checks those.</summary>
    private static readonly string[] CrdGroups = ["monitoring.coreos.com/", "keda.sh/", "gateway.networking.k8s.io/"];

    /// <summary>
    /// The JSON-schema check lets unknown fields through (a typo such as <c>replicsa</c> would pass); the API
    /// models of KubernetesClient in strict mode do not: every core object must bind with no field left over.
    /// </summary>
    [Theory]
    [MemberData(nameof(Renderings))]
    public void Core_objects_have_no_unknown_fields(string overlay, string components)
    {
        var list = components.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var rendered = list.Length == 0 ? Kustomize.Overlay(overlay) : Kustomize.Compose(overlay, list);
        var core = rendered.Objects.Where(o => !CrdGroups.Any(g => ((string)o["apiVersion"]!).StartsWith(g, StringComparison.Ordinal))).ToList();
        Assert.NotEmpty(core);
        Assert.All(core, o =>
        {
            var what = $"{o["kind"]} {Rendered.Name(o)}";
            var bound = Assert.Single(k8s.KubernetesYaml.LoadAllFromString(o.ToJsonString(), strict: true));
            Assert.True(bound is k8s.IKubernetesObject, what);
        });
    }

    [Fact]
    public void Strict_binding_rejects_an_unknown_field()
    {
        const string typo = """{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replicsa":2,"selector":{},"template":{}}}""";
        var error = Assert.ThrowsAny<Exception>(() => k8s.KubernetesYaml.LoadAllFromString(typo, strict: true));
        Assert.Contains("replicsa", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_component_is_rendered_by_a_validated_combination()
    {
        var covered = Combinations.Select(c => c.Components).SelectMany(c => c.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal);
        Assert.All(Kustomize.Components, c => Assert.Contains(c, covered));
    }

    /// <summary>The validator is no rubber stamp: wrong types, missing required fields and unknown kinds fail.</summary>
    [Fact]
    public void The_validator_rejects_invalid_objects_and_kinds_it_has_no_schema_for()
    {
        const string broken = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: bad-replicas
            spec:
              replicas: two
              selector: {}
              template:
                spec:
                  containers:
                    - image: x
            ---
            apiVersion: keda.sh/v1alpha1
            kind: ScaledObject
            metadata:
              name: no-target
            spec:
              triggers: []
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata:
              name: bad-path-type
            spec:
              rules:
                - matches:
                    - path:
                        type: Glob
                        value: /x
            ---
            apiVersion: monitoring.coreos.com/v1
            kind: PrometheusRule
            metadata:
              name: no-expr
            spec:
              groups:
                - name: g
                  rules:
                    - alert: X
            ---
            apiVersion: example.com/v1
            kind: Unknown
            metadata:
              name: x
            """;
        var file = Path.Combine(Path.GetTempPath(), $"presence-broken-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, broken);
        try
        {
            var run = Tools.ValidateSchemas(file);
            Assert.Equal(1, run.ExitCode);
            Assert.Contains("5 objects, 5 invalid", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("/spec/replicas must be integer", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("required property scaleTargetRef", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("required property expr", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("Unknown x: no schema", run.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Yamllint_passes_on_k8s_and_the_rule_tests()
    {
        var run = Tools.Run(Tools.Yamllint, ["-c", Repo.Path("k8s", ".yamllint.yaml"), "--strict", "-f", "parsable", "k8s", "tests/Presence.Deployment.Tests/rules"],
            Repo.Root, TimeSpan.FromMinutes(1));
        Assert.True(run.ExitCode == 0, run.Output);
    }

    [Fact]
    public void Shellcheck_passes_on_the_scripts()
    {
        var run = Tools.Run(Tools.Shellcheck, ["dev.sh", ".ci/run"], Repo.Root, TimeSpan.FromMinutes(1));
        Assert.True(run.ExitCode == 0, run.Output);
    }
}
