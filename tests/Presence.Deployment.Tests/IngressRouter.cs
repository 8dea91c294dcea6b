using System.Text.Json.Nodes;

namespace Presence.Deployment.Tests;

/// <summary>One path of a rendered Ingress.</summary>
public sealed record IngressPath(string Ingress, JsonObject Annotations, string Host, string Path, string PathType, string Service);

/// <summary>
/// Routes a request path the way the Ingress API defines it (and ingress-nginx implements it) across every
/// Ingress of one host: the longest matching path wins, Exact before Prefix at equal length; Prefix matches
/// whole path elements (<c>/v1/presence</c> matches <c>/v1/presence/x</c>, not <c>/v1/presences</c>).
/// </summary>
public sealed class IngressRouter(Rendered rendered)
{
    public IReadOnlyList<IngressPath> Paths { get; } =
    [
        .. rendered.OfKind("Ingress").SelectMany(ingress =>
            ingress["spec"]!["rules"]!.AsArray().SelectMany(rule =>
                rule!["http"]!["paths"]!.AsArray().Select(p => new IngressPath(
                    Rendered.Name(ingress),
                    ingress["metadata"]!["annotations"]?.AsObject() ?? [],
                    (string)rule["host"]!,
                    (string)p!["path"]!,
                    (string)p["pathType"]!,
                    (string)p["backend"]!["service"]!["name"]!)))),
    ];

    public string Host => Paths.Select(p => p.Host).Distinct().Single();

    public IngressPath? Route(string requestPath) =>
        Paths.Where(p => Matches(p, requestPath))
            .OrderByDescending(p => p.Path.TrimEnd('/').Length)
            .ThenBy(p => p.PathType == "Exact" ? 0 : 1)
            .FirstOrDefault();

    private static bool Matches(IngressPath p, string request)
    {
        if (p.PathType == "Exact")
        {
            return request == p.Path;
        }

        var prefix = p.Path.TrimEnd('/');
        return prefix.Length == 0 || request == prefix || request.StartsWith(prefix + "/", StringComparison.Ordinal);
    }

    /// <summary>
    /// A concrete request path for an ASP.NET Core route template: each parameter segment becomes a sample
    /// value (<c>/v1/presence/{role}/{id}</c> → <c>/v1/presence/x/x</c>), a catch-all parameter is dropped.
    /// </summary>
    public static string SamplePath(string template)
    {
        var segments = template.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries)
            .TakeWhile(s => !s.StartsWith("{*", StringComparison.Ordinal) && !s.StartsWith("{**", StringComparison.Ordinal))
            .Select(s => s.Contains('{', StringComparison.Ordinal) ? "x" : s);
        return "/" + string.Join('/', segments);
    }
}
