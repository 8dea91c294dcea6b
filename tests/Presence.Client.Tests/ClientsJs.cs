using System.Diagnostics;

namespace Presence.Client.Tests;

/// <summary>clients/js (the <c>@presence/client</c> package) and its node scripts, run as the tests need them.</summary>
public static class ClientsJs
{
    public static string RepoRoot => Presence.Testing.RepoRoot.Directory;

    public static string Directory => Path.Combine(RepoRoot, "clients", "js");

    /// <summary>Runs <c>node SCRIPT ARGS</c> in clients/js and fails the test with its output when it fails.</summary>
    public static async Task RunNodeAsync(string script, params string[] args)
    {
        Assert.True(File.Exists(Path.Combine(Directory, "node_modules", ".package-lock.json")),
            "clients/js has no node_modules: run `npm ci --prefix clients/js` (./dev.sh test does).");
        Assert.True(File.Exists(Path.Combine(Directory, "dist", "index.js")),
            "clients/js is not built: run `npm run build --prefix clients/js` (npm ci does it).");
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node {script} failed ({process.ExitCode}): {await stdout}{await stderr}");
    }

    /// <summary>A fresh empty folder under the git-ignored .artifacts/.</summary>
    public static string NewOutputDirectory(string name)
    {
        var path = Path.Combine(RepoRoot, ".artifacts", "clients-js", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(path);
        return path;
    }
}
