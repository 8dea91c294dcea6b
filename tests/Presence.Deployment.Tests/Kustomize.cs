using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Presence.Deployment.Tests;

/// <summary>
/// Renders a kustomization with <c>kubectl kustomize</c> (what <c>kubectl apply -k</c> applies) and parses
/// the documents into JSON nodes. Without kubectl the calling test is skipped, saying so.
/// </summary>
public static class Kustomize
{
    private static readonly ConcurrentDictionary<string, Lazy<Rendered>> Cache = new();

    public static Rendered Overlay(string name) => Render(Repo.Path("k8s", "overlays", name));

    public static Rendered Render(string directory)
    {
        var rendered = Cache.GetOrAdd(directory, d => new Lazy<Rendered>(() => RenderNow(d))).Value;
        if (rendered.SkipReason is not null)
        {
            Assert.Skip(rendered.SkipReason);
        }

        return rendered;
    }

    private static Rendered RenderNow(string directory)
    {
        var start = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(directory);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("kubectl did not start.");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return new Rendered([], "kubectl is not on PATH, so the manifests cannot be rendered: install kubectl (it embeds kustomize; ./dev.sh test installs it where it can).");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"kubectl kustomize {directory} failed ({process.ExitCode}): {stderr.Result}");
            }

            return new Rendered(Parse(stdout.Result), null);
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
public sealed record Rendered(IReadOnlyList<JsonObject> Objects, string? SkipReason)
{
    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => (string?)o["kind"] == kind);

    public JsonObject? Find(string kind, string name) => OfKind(kind).FirstOrDefault(o => Name(o) == name);

    public JsonObject Get(string kind, string name) =>
        Find(kind, name) ?? throw new Xunit.Sdk.XunitException($"No {kind} named {name} in the rendered manifests.");

    public static string Name(JsonNode o) => (string)o["metadata"]!["name"]!;
}
