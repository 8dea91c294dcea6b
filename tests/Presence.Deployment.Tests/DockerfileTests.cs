using System.Text.RegularExpressions;

namespace Presence.Deployment.Tests;

/// <summary>
/// The images (not built here: no Docker engine on this machine; docs/deployment.md builds them) agree with the
/// manifests: one multi-stage Dockerfile (SDK → aspnet) for every service, chosen by the SERVICE build argument;
/// non-root, no HEALTHCHECK, the manifests' port, and each service folder holding the one project it publishes.
/// </summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string> Services => [.. Repo.Services.Select(s => s.Folder)];

    private static readonly Lazy<List<(string Op, string Args)>> Lines = new(() =>
    {
        Assert.True(File.Exists(Repo.Path("Dockerfile")), "the Dockerfile at the repository root is missing");
        return Instructions(File.ReadAllText(Repo.Path("Dockerfile")));
    });

    [Fact]
    public void The_one_dockerfile_is_multi_stage_non_root_on_the_manifests_port()
    {
        var lines = Lines.Value;
        var froms = lines.Where(l => l.Op == "FROM").Select(l => l.Args).ToList();

        Assert.True(froms.Count >= 2, "multi-stage: a build stage and a runtime stage");
        Assert.Contains(froms, f => f.StartsWith("mcr.microsoft.com/dotnet/sdk:", StringComparison.Ordinal));
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:", froms[^1], StringComparison.Ordinal);
        var final = lines.SkipWhile(l => l.Op != "FROM" || l.Args != froms[^1]).ToList();
        Assert.DoesNotContain(lines, l => l.Op == "HEALTHCHECK");
        var user = Assert.Single(final, l => l.Op == "USER").Args;
        Assert.True(user is "app" or "$APP_UID" || (int.TryParse(user, out var uid) && uid > 0), $"USER {user} is not a non-root user");
        var port = ManifestTests.HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(port, Assert.Single(final, l => l.Op == "EXPOSE").Args);
        Assert.Contains(final, l => l.Op == "ENV" && l.Args.Replace(" ", "=", StringComparison.Ordinal) == "ASPNETCORE_HTTP_PORTS=" + port);
        Assert.Equal("[\"/app/service\"]", Assert.Single(final, l => l.Op == "ENTRYPOINT").Args);
        Assert.Contains(lines, l => l.Op == "RUN" && l.Args.Contains("dotnet publish services/${SERVICE} ", StringComparison.Ordinal)
            && l.Args.Contains("/app/service", StringComparison.Ordinal));
        Assert.True(lines.Count(l => l.Op == "ARG" && l.Args == "SERVICE") >= 2, "SERVICE is declared before the stages and again in the build stage");
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Each_service_builds_from_the_one_dockerfile(string folder)
    {
        var service = Repo.Services.Single(s => s.Folder == folder);
        // The Dockerfile publishes the folder, so it must hold exactly the service's project.
        Assert.Equal($"{service.Assembly}.csproj", Path.GetFileName(Assert.Single(Directory.GetFiles(service.Directory, "*.csproj"))));
        Assert.False(File.Exists(Path.Combine(service.Directory, "Dockerfile")), $"services/{folder}/Dockerfile: the repository root's Dockerfile builds every service");
        foreach (var copy in Lines.Value.Where(l => l.Op == "COPY" && !l.Args.StartsWith("--from", StringComparison.Ordinal)))
        {
            foreach (var source in copy.Args.Replace("${SERVICE}", folder, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1))
            {
                Assert.True(source.Contains('*', StringComparison.Ordinal)
                    ? Directory.GetFiles(Repo.Path(Path.GetDirectoryName(source)!), Path.GetFileName(source)).Length > 0
                    : File.Exists(Repo.Path(source)) || Directory.Exists(Repo.Path(source)),
                    $"COPY {source}: no such file in the build context of {folder}");
            }
        }
    }

    [Fact]
    public void The_build_context_leaves_out_build_output_tests_and_git()
    {
        var ignored = File.ReadAllLines(Repo.Path(".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet();
        Assert.All(new[] { "**/bin/", "**/obj/", ".git/", "tests/", "**/node_modules/" }, p => Assert.Contains(p, ignored));
        Assert.DoesNotContain("shared/", ignored);
        Assert.DoesNotContain("services/", ignored);
    }

    private static List<(string Op, string Args)> Instructions(string dockerfile) =>
        [.. dockerfile.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => Instruction().Match(l))
            .Select(m => (m.Groups[1].Value.ToUpperInvariant(), Regex.Replace(m.Groups[2].Value.Trim(), @"\s+AS\s+\S+$", "", RegexOptions.IgnoreCase)))];

    [GeneratedRegex(@"^(\S+)\s*(.*)$")]
    private static partial Regex Instruction();
}
