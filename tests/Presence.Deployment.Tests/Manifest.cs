using System.Text.Json.Nodes;

namespace Presence.Deployment.Tests;

/// <summary>Reading rendered objects: pod specs, containers, env, ports, label selectors.</summary>
public static class Manifest
{
    public const string NameLabel = "app.kubernetes.io/name";

    public static JsonObject PodSpec(this JsonObject workload) => workload["spec"]!["template"]!["spec"]!.AsObject();

    public static JsonObject PodLabels(this JsonObject workload) => workload["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();

    public static JsonObject App(this JsonObject workload) =>
        workload.PodSpec()["containers"]!.AsArray().Select(c => c!.AsObject()).Single(c => (string?)c["name"] == "app");

    public static IEnumerable<JsonObject> Containers(this JsonObject workload) =>
        workload.PodSpec()["containers"]!.AsArray().Select(c => c!.AsObject());

    public static IReadOnlyList<JsonObject> Env(this JsonObject container) =>
        container["env"] is JsonArray env ? [.. env.Select(e => e!.AsObject())] : [];

    public static JsonObject? EnvVar(this JsonObject container, string name) =>
        container.Env().FirstOrDefault(e => (string?)e["name"] == name);

    public static string? EnvValue(this JsonObject container, string name) => (string?)container.EnvVar(name)?["value"];

    /// <summary>The container port a probe or Service names (by port name or number).</summary>
    public static long ResolvePort(this JsonObject container, JsonNode port)
    {
        if (port.GetValueKind() == System.Text.Json.JsonValueKind.Number)
        {
            return (long)port;
        }

        var name = (string)port!;
        return (long)container["ports"]!.AsArray().Single(p => (string?)p!["name"] == name)!["containerPort"]!;
    }

    public static string Str(this JsonNode? node, string path)
    {
        var current = node;
        foreach (var part in path.Split('.'))
        {
            current = current?[part];
        }

        return current?.ToString() ?? throw new Xunit.Sdk.XunitException($"{path} is not set.");
    }

    public static bool Has(this JsonNode? node, string path)
    {
        var current = node;
        foreach (var part in path.Split('.'))
        {
            current = current?[part];
        }

        return current is not null;
    }

    /// <summary>Whether a Service's selector (a plain label map, unlike a workload's) selects these labels.</summary>
    public static bool ServiceSelects(this JsonObject service, JsonObject labels) =>
        service["spec"]!["selector"] is JsonObject selector && selector.Count > 0
        && selector.All(kv => labels[kv.Key]?.ToString() == kv.Value?.ToString());

    /// <summary>Whether a label selector (matchLabels and matchExpressions In/NotIn/Exists/DoesNotExist) selects these labels.</summary>
    public static bool Selects(this JsonNode selector, JsonObject labels)
    {
        string? Label(string key) => labels[key]?.ToString();
        if (selector["matchLabels"] is JsonObject match && match.Any(kv => Label(kv.Key) != kv.Value?.ToString()))
        {
            return false;
        }

        foreach (var expression in selector["matchExpressions"]?.AsArray() ?? [])
        {
            var key = (string)expression!["key"]!;
            var values = expression["values"]?.AsArray().Select(v => v!.ToString()).ToHashSet() ?? [];
            var ok = (string)expression["operator"]! switch
            {
                "In" => Label(key) is { } v && values.Contains(v),
                "NotIn" => Label(key) is not { } v2 || !values.Contains(v2),
                "Exists" => Label(key) is not null,
                "DoesNotExist" => Label(key) is null,
                var op => throw new InvalidOperationException($"Unknown selector operator {op}."),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
