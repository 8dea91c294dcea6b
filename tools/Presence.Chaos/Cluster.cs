using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Presence.Chaos;

/// <summary>One service process of the run: how to start it again on the same port after a kill.</summary>
internal sealed class Service(string name, string file, string[] args, Dictionary<string, string> env, string logPath, string? readyUrl)
{
    public string Name { get; } = name;

    public string? ReadyUrl { get; } = readyUrl;

    public Process? Process { get; set; }

    public string File { get; } = file;

    public string[] Args { get; } = args;

    public Dictionary<string, string> Env { get; } = env;

    public string LogPath { get; } = logPath;
}

/// <summary>
/// The processes of the run (redis-server, heartbeat-api, two gateways, two janitors): started on free loopback
/// ports, killed, paused and restarted by the fault schedule, and every one of them killed when the run ends.
/// </summary>
internal sealed class Cluster : IAsyncDisposable
{
    private readonly List<Process> _all = [];
    private readonly Lock _gate = new();

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Start(Service service)
    {
        var info = new ProcessStartInfo(service.File) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in service.Args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in service.Env)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"{service.Name} did not start.");
        var log = new StreamWriter(service.LogPath, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (_gate)
        {
            _all.Add(process);
        }

        service.Process = process;
    }

    public static void Kill(Service service)
    {
        if (service.Process is { } p)
        {
            try
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    public static void Signal(Service service, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, service.Process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false });
        kill?.WaitForExit(5000);
    }

    public static async Task WaitReadyAsync(string url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{url} not ready within {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>Kills every process the run started (also the ones a fault already replaced), SIGCONT first so a paused one dies too.</summary>
    public void KillAll()
    {
        Process[] all;
        lock (_gate)
        {
            all = [.. _all];
        }

        foreach (var process in all)
        {
            try
            {
                if (!process.HasExited)
                {
                    using var cont = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-CONT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false });
                    cont?.WaitForExit(2000);
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        KillAll();
        return ValueTask.CompletedTask;
    }
}
