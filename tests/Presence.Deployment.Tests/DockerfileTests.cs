using System.Text.RegularExpressions;

namespace Presence.Deployment.Tests;

/// <summary>
/// The images (not built here: no Docker engine on this machine; docs/deployment.md builds them) agree with the
/// manifests: multi-stage SDK → aspnet, non-root, no HEALTHCHECK, the manifests' port, the service's own assembly.
/// </summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string> Services => [.. Repo.Services.Select(s => s.Folder)];

    [Theory]
    [MemberData(nameof(Services))]
    public void Each_service_has_a_multi_stage_non_root_dockerfile_on_the_manifests_port(string folder)
    {
        var service = Repo.Services.Single(s => s.Folder == folder);
        var path = Path.Combine(service.Directory, "Dockerfile");
        Assert.True(File.Exists(path), $"services/{folder}/Dockerfile is missing");
        var lines = Instructions(File.ReadAllText(path));
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
        Assert.Equal($"[\"dotnet\", \"{service.Assembly}.dll\"]", Assert.Single(final, l => l.Op == "ENTRYPOINT").Args);
        Assert.Contains(lines, l => l.Op == "RUN" && l.Args.Contains($"dotnet publish services/{folder}/{service.Assembly}.csproj", StringComparison.Ordinal));
        foreach (var copy in lines.Where(l => l.Op == "COPY" && !l.Args.StartsWith("--from", StringComparison.Ordinal)))
        {
            foreach (var source in copy.Args.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1).Where(s => s.EndsWith(".csproj", StringComparison.Ordinal) || s.EndsWith(".props", StringComparison.Ordinal)))
            {
                Assert.True(File.Exists(Repo.Path(source)), $"COPY {source}: no such file in the build context");
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
