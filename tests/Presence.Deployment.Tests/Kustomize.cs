using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Presence.Deployment.Tests;

/// <summary>
/// Renders a kustomization with <c>kubectl kustomize</c> (what <c>kubectl apply -k</c> applies) and parses
/// the documents into JSON nodes. Without kubectl the calling test fails, saying how to install it.
/// </summary>
public static class Kustomize
{
    private static readonly ConcurrentDictionary<string, Lazy<Rendered>> Cache = new();

    /// <summary>The components under k8s/components, each of which an overlay may add.</summary>
    public static IReadOnlyList<string> Components =>
        [.. Directory.GetDirectories(Repo.Path("k8s", "components")).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal)];

    public static Rendered Overlay(string name) => Render(Repo.Path("k8s", "overlays", name));

    /// <summary>
    /// An overlay plus components, rendered the way a user adds them: a kustomization in a scratch copy of k8s/
    /// whose resources are the overlay and whose components are the given ones.
    /// </summary>
    public static Rendered Compose(string overlay, params string[] components) =>
        Cache.GetOrAdd($"compose:{overlay}:{string.Join(',', components)}", _ => new Lazy<Rendered>(() =>
        {
            var scratch = Directory.CreateTempSubdirectory("presence-k8s-");
            try
            {
                CopyDirectory(Repo.Path("k8s"), Path.Combine(scratch.FullName, "k8s"));
                var dir = Path.Combine(scratch.FullName, "k8s", "overlays", "composed");
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, "kustomization.yaml"),
                    $"resources:\n  - ../{overlay}\ncomponents:\n{string.Concat(components.Select(c => $"  - ../../components/{c}\n"))}");
                return RenderNow(dir);
            }
            finally
            {
                scratch.Delete(recursive: true);
            }
        })).Value;

    public static Rendered Render(string directory) =>
        Cache.GetOrAdd(directory, d => new Lazy<Rendered>(() => RenderNow(d))).Value;

    private static Rendered RenderNow(string directory)
    {
        var run = Tools.Run(Tools.Kubectl, ["kustomize", directory], directory, TimeSpan.FromMinutes(2));
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"kubectl kustomize {directory} failed ({run.ExitCode}): {run.Stderr}");
        }

        return new Rendered(Parse(run.Stdout), run.Stdout);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.GetDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }

    public static List<JsonObject> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => ToJson(d.RootNode)).OfType<JsonObject>()];
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(ToJson)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    // Plain scalars keep their YAML type (8080 is a number, true a bool); quoted ones stay strings.
    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value;
        if (scalar.Style != ScalarStyle.Plain || value is null)
        {
            return JsonValue.Create(value);
        }

        if (value is "null" or "~" or "")
        {
            return null;
        }

        if (value is "true" or "false")
        {
            return JsonValue.Create(value == "true");
        }

        return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
            ? JsonValue.Create(number)
            : JsonValue.Create(value);
    }
}

/// <summary>The documents of one rendering.</summary>
public sealed record Rendered(IReadOnlyList<JsonObject> Objects, string Yaml)
{
    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => (string?)o["kind"] == kind);

    /// <summary>The object of that kind and name; a generated ConfigMap or Secret also by its name before the hash suffix.</summary>
    public JsonObject? Find(string kind, string name) =>
        OfKind(kind).FirstOrDefault(o => Name(o) == name)
        ?? (kind is "ConfigMap" or "Secret" ? OfKind(kind).FirstOrDefault(o => IsGenerated(Name(o), name)) : null);

    /// <summary>Whether a rendered name is the generated name-&lt;10-character hash&gt; of a configMapGenerator or secretGenerator.</summary>
    public static bool IsGenerated(string rendered, string name) =>
        rendered.Length == name.Length + 11 && rendered.StartsWith(name + "-", StringComparison.Ordinal)
        && rendered[(name.Length + 1)..].All(char.IsAsciiLetterOrDigit);

    public JsonObject Get(string kind, string name) =>
        Find(kind, name) ?? throw new Xunit.Sdk.XunitException($"No {kind} named {name} in the rendered manifests.");

    public static string Name(JsonNode o) => (string)o["metadata"]!["name"]!;
}
