namespace Presence.Testing;

/// <summary>The repository the tests run from: the first folder above the test binaries that holds Presence.slnx.</summary>
public static class RepoRoot
{
    public const string SolutionFile = "Presence.slnx";

    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, SolutionFile)))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"{SolutionFile} not found above {AppContext.BaseDirectory}.");
    });

    public static string Directory => Root.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root.Value, .. parts]);
}
