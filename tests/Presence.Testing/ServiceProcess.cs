using System.Globalization;

namespace Presence.Testing;

/// <summary>
/// One service as a real OS process (a built <c>Presence.X.dll</c> under <c>dotnet</c>, or any program such as
/// <c>redis-server</c>): started, paused (<c>SIGSTOP</c>), resumed (<c>SIGCONT</c>), killed (<c>SIGKILL</c>) and
/// started again with the same arguments, environment and port. Used by the tests that pause whole processes and by
/// the chaos run (tools/Presence.Chaos). Disposing kills it (resuming it first, so a paused one dies too).
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const int TailLines = 200;
    private readonly Queue<string> _tail = new();
    private readonly Lock _gate = new();
    private StreamWriter? _log;

    public ServiceProcess(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string? logPath = null, string? baseUrl = null)
    {
        Name = name;
        FileName = fileName;
        Arguments = [.. arguments];
        Environment = new Dictionary<string, string>(environment);
        LogPath = logPath;
        BaseUrl = baseUrl;
    }

    public string Name { get; }

    public string FileName { get; }

    public IReadOnlyList<string> Arguments { get; }

    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>Where stdout and stderr are appended (across restarts), if anywhere; the last lines are kept in memory either way.</summary>
    public string? LogPath { get; }

    /// <summary><c>http://127.0.0.1:port</c> of a web service (null for other programs).</summary>
    public string? BaseUrl { get; }

    /// <summary>The current process (the latest start), or null before the first.</summary>
    public Process? Process { get; private set; }

    public bool IsRunning => Process is { HasExited: false };

    public int Pid => Process?.Id ?? throw new InvalidOperationException($"{Name} was never started.");

    /// <summary>
    /// A built service under <c>dotnet</c> on a free loopback port (<c>ASPNETCORE_URLS</c>), in Development unless
    /// <paramref name="environment"/> says otherwise.
    /// </summary>
    public static ServiceProcess Dotnet(string name, string assemblyPath, IReadOnlyDictionary<string, string> environment, string? logPath = null)
    {
        if (!File.Exists(assemblyPath))
        {
            throw new FileNotFoundException($"{assemblyPath} is missing: build the service first.", assemblyPath);
        }

        var port = FreePort();
        var baseUrl = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        var env = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = baseUrl,
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_NOLOGO"] = "1",
        };
        foreach (var (key, value) in environment)
        {
            env[key] = value;
        }

        return new ServiceProcess(name, "dotnet", [assemblyPath], env, logPath, baseUrl);
    }

    /// <summary>
    /// The built assembly of a service (<c>services/{project}/bin/{configuration}/net10.0/{assembly}.dll</c>): of the
    /// configuration given, else the one this code was built in, else the newest other one found.
    /// </summary>
    public static string ServiceAssembly(string project, string assembly, string? configuration = null, string? root = null)
    {
        root ??= RepositoryRoot();
        var own =
#if DEBUG
            "Debug";
#else
            "Release";
#endif
        string PathFor(string c) => Path.Combine(root, "services", project, "bin", c, "net10.0", assembly + ".dll");
        if (configuration is not null)
        {
            return PathFor(configuration);
        }

        return new[] { own, own == "Debug" ? "Release" : "Debug" }.Select(PathFor).FirstOrDefault(File.Exists) ?? PathFor(own);
    }

    /// <summary>The repository's root: the nearest folder above this assembly holding the solution file.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (dir.EnumerateFiles("Presence.sln*").Any())
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No Presence.sln above {AppContext.BaseDirectory}.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the process (again, after a kill) with the same arguments and environment.</summary>
    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} is already running (pid {Process!.Id}).");
        }

        var info = new ProcessStartInfo(FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in Arguments)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in Environment)
        {
            info.Environment[key] = value;
        }

        if (LogPath is not null && _log is null)
        {
            _log = new StreamWriter(LogPath, append: true) { AutoFlush = true };
        }

        var process = System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException($"{Name} did not start.");
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Process?.Dispose();
        Process = process;
    }

    /// <summary>Polls <c>{BaseUrl}{path}</c> until it answers 2xx; fails at once if the process exits, with its last output.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, string path = "/health/ready", CancellationToken ct = default)
    {
        var url = (BaseUrl ?? throw new InvalidOperationException($"{Name} has no URL.")) + path;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Process is { HasExited: true } exited)
            {
                throw new InvalidOperationException($"{Name} exited with code {exited.ExitCode} before it was ready. Last output:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(url, ct).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{url} not ready within {timeout.TotalSeconds:0} s. Last output of {Name}:\n{Output}");
            }

            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Freezes the process (SIGSTOP): its sockets stay open, nothing runs.</summary>
    public void Pause() => Signal("STOP");

    /// <summary>Lets a paused process run again (SIGCONT).</summary>
    public void Resume() => Signal("CONT");

    /// <summary>Kills the process at once (SIGKILL, with any children) and waits for it to be gone.</summary>
    public void Kill()
    {
        if (Process is not { } p)
        {
            return;
        }

        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }

    /// <summary>Sends a signal by name (<c>STOP</c>, <c>CONT</c>, <c>KILL</c>, ...) with <c>kill</c>.</summary>
    public void Signal(string signal)
    {
        var pid = Pid;
        using var kill = System.Diagnostics.Process.Start(new ProcessStartInfo("kill")
        {
            ArgumentList = { "-" + signal, pid.ToString(CultureInfo.InvariantCulture) },
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("kill did not start.");
        kill.WaitForExit(5000);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid} ({Name}) exited with {kill.ExitCode}.");
        }
    }

    /// <summary>The last lines the process wrote (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (IsRunning)
        {
            try
            {
                Resume();
            }
            catch (InvalidOperationException)
            {
            }
        }

        Kill();
        Process?.Dispose();
        Process = null;
        lock (_gate)
        {
            _log?.Dispose();
            _log = null;
        }

        return ValueTask.CompletedTask;
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _log?.WriteLine(line);
            _tail.Enqueue(line);
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }
    }
}
