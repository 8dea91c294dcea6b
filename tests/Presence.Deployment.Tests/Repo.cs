using System.Xml.Linq;

namespace Presence.Deployment.Tests;

/// <summary>One service under services/: its folder (the Kubernetes name) and its assembly.</summary>
public sealed record ServiceProject(string Folder, string Assembly, string Directory)
{
    public override string ToString() => Folder;
}

/// <summary>The repository the tests run from, found by walking up to Presence.slnx.</summary>
public static class Repo
{
    private static readonly Lazy<IReadOnlyList<ServiceProject>> AllServices = new(() =>
        [.. System.IO.Directory.GetDirectories(Path("services"))
            .Select(dir => (dir, csproj: System.IO.Directory.GetFiles(dir, "*.csproj").SingleOrDefault()))
            .Where(x => x.csproj is not null)
            .Select(x => new ServiceProject(
                new DirectoryInfo(x.dir).Name,
                XDocument.Load(x.csproj!).Descendants("AssemblyName").FirstOrDefault()?.Value
                    ?? System.IO.Path.GetFileNameWithoutExtension(x.csproj!),
                x.dir))
            .OrderBy(s => s.Folder, StringComparer.Ordinal)]);

    public static string Root => Presence.Testing.RepoRoot.Directory;

    /// <summary>Every service project under services/ (one folder each, kebab-case: also its Kubernetes name).</summary>
    public static IReadOnlyList<ServiceProject> Services => AllServices.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static IEnumerable<string> SourceFiles(params string[] roots) =>
        roots.SelectMany(r => System.IO.Directory.EnumerateFiles(Path(r), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{System.IO.Path.DirectorySeparatorChar}obj{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{System.IO.Path.DirectorySeparatorChar}bin{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal));
}
