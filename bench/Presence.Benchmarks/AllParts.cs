using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Presence.Testing;

namespace Presence.Benchmarks;

/// <summary>
/// <c>all [--quick] [--skip PART]</c>, what <c>./dev.sh bench</c> runs: every part of docs/benchmarks.md in order, each
/// a child process of its Release build (built by <c>dotnet run -c Release</c> through this project's references),
/// then the one goal table from the rows every part appended to <c>.dev/bench-rows.md</c>. Parts: 1 (services vs
/// baselines), 1b (sharding, 1 primary vs 3), 2 (realtime-gateway under the load tool), 3 (janitor).
/// </summary>
internal static class AllParts
{
    private const string Configuration = "Release";

    public static async Task<int> RunAsync(bool quick, IReadOnlyCollection<string> skip)
    {
        if (typeof(AllParts).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration != Configuration)
        {
            await Console.Error.WriteLineAsync("all: the figures are of Release builds: dotnet run -c Release --project bench/Presence.Benchmarks -- all");
            return 2;
        }

        var root = ServiceProcess.RepositoryRoot();
        var state = Directory.CreateDirectory(Path.Combine(root, ".dev")).FullName;
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {CpuModel()}, {MemoryGiB()} GiB, {(await Processes.RunAsync("uname", "-sr")).Trim()}");

        // Every part appends its goal rows here (BenchRows); the one final table is printed at the end.
        var rows = Path.Combine(state, "bench-rows.md");
        await File.WriteAllTextAsync(rows, "");
        Environment.SetEnvironmentVariable("PRESENCE_BENCH_ROWS", rows);

        // The gateway part pins the load tool to the last core and the gateway and its Redis to the others.
        var lastCore = Environment.ProcessorCount - 1;
        var taskset = OnPath("taskset");
        string[] pinTool = taskset && lastCore >= 1 ? ["taskset", "-c", $"{lastCore}"] : [];
        string[] pinServer = taskset && lastCore >= 1 ? ["taskset", "-c", $"0-{lastCore - 1}"] : [];
        var quickArgs = quick ? new[] { "--quick" } : [];
        var self = typeof(AllParts).Assembly.Location;
        var failed = new List<string>();

        async Task PartAsync(string part, string title, Func<Task<int>> run)
        {
            if (skip.Contains(part))
            {
                Log($"{part} skipped: {title}");
                return;
            }

            Log($"{part} {title}");
            try
            {
                var exit = await run();
                if (exit != 0)
                {
                    failed.Add($"{part} (exit {exit})");
                }
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or TimeoutException or System.ComponentModel.Win32Exception)
            {
                // A part that cannot start (a missing build, a service not ready) is reported; the next part still runs.
                await Console.Error.WriteLineAsync($"{part}: {e.Message}");
                failed.Add($"{part} ({e.GetType().Name})");
            }
        }

        await PartAsync("1/3", "REST heartbeats, board, Redis cost and memory (services vs baselines)",
            () => RunAsync([], "dotnet", [self, "run", .. quickArgs], root));

        // The load tool gets a core of its own when one is free beside the 3 primaries (4+ cores); else it shares them.
        string[] pinCluster = taskset && Environment.ProcessorCount >= 4 ? ["taskset", "-c", "0"] : [];
        await PartAsync("1b/3", "sharding: heartbeats and Redis CPU per heartbeat on 1 primary vs 3, share per primary, board rebuild over the shards",
            () => RunAsync(pinCluster, "dotnet", [self, "cluster", .. quickArgs], root));

        var (connections, duration, users) = quick ? (1_000, 15, 20_000) : (10_000, 60, 100_000);
        await PartAsync("2/3", "realtime-gateway: connections held, memory per connection, ack and push latency",
            () => GatewayAsync(root, state, connections, duration, pinTool, pinServer));

        await PartAsync("3/3", "janitor: offline-detection delay and the longest sweep command",
            () => RunAsync([], "dotnet", [BenchAssembly(root, "Presence.JanitorBenchmark"), $"{users}", "20"], root));

        Console.WriteLine();
        Console.WriteLine($"Goals ({(quick ? "quick: 1k connections, 20k janitor users; the goals are stated for the full run" : "full")}):");
        Console.WriteLine("| figure | value | goal | verdict |");
        Console.WriteLine("| --- | ---: | --- | --- |");
        Console.Write(await File.ReadAllTextAsync(rows));
        if (failed.Count > 0)
        {
            Console.WriteLine($"failed parts: {string.Join(", ", failed)}");
        }

        return failed.Count == 0 ? 0 : 1;
    }

    /// <summary>
    /// Part 2: a Redis and one realtime-gateway (Release) under <paramref name="pinServer"/>, the load tool under
    /// <paramref name="pinTool"/>. Both are .NET processes, whose runtime raises the soft open-files limit to the hard
    /// one at start (what the bash run's <c>ulimit -n</c> did), so 10k connections need no shell.
    /// </summary>
    private static async Task<int> GatewayAsync(string root, string state, int connections, int duration, string[] pinTool, string[] pinServer)
    {
        var dir = Directory.CreateDirectory(Path.Combine(state, "bench")).FullName;
        var (redisPort, gatewayPort) = (ServiceProcess.FreePort(), ServiceProcess.FreePort());
        await using var processes = new Processes();
        processes.Start(pinServer.Length > 0 ? pinServer[0] : "redis-server",
            [.. pinServer.Skip(1), .. pinServer.Length > 0 ? ["redis-server"] : Array.Empty<string>(),
             "--port", $"{redisPort}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
            new Dictionary<string, string>(), Path.Combine(dir, "redis.log"));

        // Every load connection comes from 127.0.0.1: the per-address connection cap (200) is lifted for the run, as part 1
        // lifts the per-user write limiter (a refused connection would measure the cap, not the gateway). Production, as
        // part 1: a WebSocket's request stays in the middleware pipeline for the connection's life, and Development's
        // exception page held its state per connection; the load tool signs with the run's random key.
        var gatewayDir = Path.Combine(root, "services", "realtime-gateway", "bin", Configuration, "net10.0");
        var signingKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var env = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Auth__SigningKey"] = signingKey,
            ["ConnectionStrings__redis"] = $"127.0.0.1:{redisPort}",
            ["Presence__KeyPrefix"] = "bench",
            ["Gateway__Limits__MaxConnectionsPerAddress"] = $"{connections + 100}",
            ["Logging__LogLevel__Default"] = "Warning",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{gatewayPort}",
        };
        // taskset execs dotnet: the process started is the gateway itself (its pid is the one the load tool reads).
        var gateway = processes.Start(pinServer.Length > 0 ? pinServer[0] : "dotnet",
            [.. pinServer.Skip(1), .. pinServer.Length > 0 ? ["dotnet"] : Array.Empty<string>(), "Presence.RealtimeGateway.dll"],
            env, Path.Combine(dir, "gateway.log"), gatewayDir);
        await Processes.WaitReadyAsync($"http://127.0.0.1:{gatewayPort}", "/health/ready", TimeSpan.FromSeconds(60));

        Console.WriteLine($"command: {(pinTool.Length > 0 ? string.Join(' ', pinTool) + " " : "")}Presence.Gateway.LoadTool --connections {connections} --duration {duration} " +
            $"(one gateway as Production{(pinServer.Length > 0 ? " under " + string.Join(' ', pinServer) : "")}, {Configuration})");
        return await RunAsync(pinTool, "dotnet",
            [BenchAssembly(root, "Presence.Gateway.LoadTool"), "--url", $"http://127.0.0.1:{gatewayPort}/hubs/presence",
             "--connections", $"{connections}", "--duration", $"{duration}", "--gateway-pid", $"{gateway.Id}",
             "--signing-key", signingKey], root, echo: false);
    }

    /// <summary>A part in the foreground: its output is the run's output; <paramref name="pin"/> (taskset) wraps it when given.</summary>
    private static async Task<int> RunAsync(string[] pin, string file, string[] args, string workingDirectory, bool echo = true)
    {
        string[] command = [.. pin, file, .. args];
        if (echo)
        {
            Console.WriteLine($"command: {string.Join(' ', command.Select(a => Path.IsPathRooted(a) ? Path.GetRelativePath(workingDirectory, a) : a))}");
        }

        var info = new ProcessStartInfo(command[0]) { UseShellExecute = false, WorkingDirectory = workingDirectory };
        foreach (var arg in command[1..])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command[0]} did not start.");
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    private static string BenchAssembly(string root, string project)
    {
        var dll = Path.Combine(root, "bench", project, "bin", Configuration, "net10.0", project + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is missing: dotnet run -c {Configuration} builds it.", dll);
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, program)));

    private static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    private static long MemoryGiB()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024 / 1024;
    }

    private static void Log(string text) => Console.Error.WriteLine($"\u001b[1m==> {text}\u001b[0m");
}
