using System.Diagnostics;

namespace Presence.Deployment.Tests;

/// <summary>The result of one tool run.</summary>
public sealed record ToolRun(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout + Stderr;
}

/// <summary>
/// The command-line tools the deployment tests run, installed by the tests themselves when missing, from the
/// Debian and npm registries (docs/deployment.md, "Validation"). A tool that cannot be had fails the test
/// that needs it, saying how to install it; nothing is skipped.
/// </summary>
public static class Tools
{
    private static readonly object AptLock = new();
    private static bool _aptUpdated;

    /// <summary>Where downloaded tools are unpacked: outside the repository, kept between runs.</summary>
    private static string Cache => Path.Combine(Path.GetTempPath(), "presence-deployment-tools");

    private static readonly Lazy<string> KubectlPath = new(() => OnPath("kubectl")
        ?? throw new InvalidOperationException(
            "kubectl is not on PATH, so the manifests cannot be rendered. Install kubectl >= 1.27 (it embeds kustomize v5; " +
            "Debian's kubernetes-client is too old for components): https://kubernetes.io/docs/tasks/tools/"));

    private static readonly Lazy<string> YamllintPath = new(() => AptCommand("yamllint", "yamllint"));

    private static readonly Lazy<string> ShellcheckPath = new(() => AptCommand("shellcheck", "shellcheck"));

    /// <summary>promtool from Debian's prometheus package, unpacked (dpkg-deb -x), never installed as a service.</summary>
    private static readonly Lazy<string> PromtoolPath = new(() =>
    {
        if (OnPath("promtool") is { } installed)
        {
            return installed;
        }

        var dir = Path.Combine(Cache, "prometheus");
        var promtool = Path.Combine(dir, "usr", "bin", "promtool");
        if (File.Exists(promtool))
        {
            return promtool;
        }

        var download = Path.Combine(Cache, "download-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(download);
        AptUpdateOnce();
        Check(Run("apt-get", ["download", "prometheus"], download, TimeSpan.FromMinutes(5)), "apt-get download prometheus");
        var deb = Directory.GetFiles(download, "prometheus_*.deb").Single();
        var unpacked = dir + ".tmp-" + Guid.NewGuid().ToString("N");
        Check(Run("dpkg-deb", ["-x", deb, unpacked], download, TimeSpan.FromMinutes(2)), "dpkg-deb -x prometheus");
        try
        {
            Directory.Move(unpacked, dir);
        }
        catch (IOException) when (File.Exists(promtool))
        {
            // Another test process unpacked it first.
        }

        Directory.Delete(download, recursive: true);
        return promtool;
    });

    /// <summary>The schema validator (tests/Presence.Deployment.Tests/schema): node plus its npm packages.</summary>
    private static readonly Lazy<string> ValidatorPath = new(() =>
    {
        _ = OnPath("node") ?? AptCommand("node", "nodejs");
        var dir = Repo.Path("tests", "Presence.Deployment.Tests", "schema");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", "kubernetes-models")))
        {
            var npm = OnPath("npm") ?? AptCommand("npm", "npm");
            Check(Run(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], dir, TimeSpan.FromMinutes(5)), "npm ci (schema validator)");
        }

        return Path.Combine(dir, "validate.mjs");
    });

    public static string Kubectl => KubectlPath.Value;

    public static string Yamllint => YamllintPath.Value;

    public static string Shellcheck => ShellcheckPath.Value;

    public static string Promtool => PromtoolPath.Value;

    /// <summary>Validates multi-document YAML files against the Kubernetes and CRD schemas; one line per object.</summary>
    public static ToolRun ValidateSchemas(params string[] files)
    {
        var validator = ValidatorPath.Value; // installs node and the packages first when missing
        return Run(OnPath("node")!, [validator, .. files], Path.GetDirectoryName(validator)!, TimeSpan.FromMinutes(2));
    }

    public static ToolRun Run(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}.");
        }

        process.WaitForExit();
        return new ToolRun(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static string? OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, command)).FirstOrDefault(File.Exists);

    /// <summary>The command, installed with apt-get (as root) from the Debian package when it is missing.</summary>
    private static string AptCommand(string command, string package)
    {
        if (OnPath(command) is { } path)
        {
            return path;
        }

        if (OnPath("apt-get") is null || !IsRoot())
        {
            throw new InvalidOperationException($"{command} is missing and cannot be installed here (needs root and apt-get): run 'apt-get install -y {package}'.");
        }

        lock (AptLock)
        {
            AptUpdateOnce();
            Check(Run("apt-get", ["install", "-y", "-qq", package], Path.GetTempPath(), TimeSpan.FromMinutes(5)), $"apt-get install {package}");
        }

        return OnPath(command) ?? throw new InvalidOperationException($"apt-get installed {package}, yet {command} is not on PATH.");
    }

    private static void AptUpdateOnce()
    {
        lock (AptLock)
        {
            if (!_aptUpdated && IsRoot())
            {
                Check(Run("apt-get", ["update", "-qq"], Path.GetTempPath(), TimeSpan.FromMinutes(5)), "apt-get update");
                _aptUpdated = true;
            }
        }
    }

    private static bool IsRoot() => Environment.UserName == "root";

    private static void Check(ToolRun run, string what)
    {
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"{what} failed ({run.ExitCode}): {run.Output}");
        }
    }
}
