using StackExchange.Redis;

namespace Presence.Testing;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, with a throwaway directory and no persistence,
/// keyspace notifications on (<c>Ex</c>). Use it as an assembly fixture (shared, one key prefix per
/// test class) or as a class fixture where a test stops and restarts Redis.
/// </summary>
public sealed class RedisServer : IRedisBackend, IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "presence-redis-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? _process;
    private ConnectionMultiplexer? _client;

    public int Port { get; private set; }

    /// <summary>The server's working directory (<c>dir</c>), where a BGSAVE writes <c>dump.rdb</c>.</summary>
    public string DataDirectory => _directory;

    /// <summary>For services under test: fail fast while the server is down, reconnect when it is back.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectRetry=1,connectTimeout=1000";

    public bool IsRunning => _process is { HasExited: false };

    public async ValueTask InitializeAsync()
    {
        Port = ServiceProcess.FreePort();
        Directory.CreateDirectory(_directory);
        await StartAsync();
    }

    /// <summary>Starts the server (again) on the same port, as after an outage.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var start = new ProcessStartInfo("redis-server")
        {
            WorkingDirectory = _directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--notify-keyspace-events", "Ex", "--dir", _directory,
        })
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException(
                "redis-server was not found on PATH. Install the Debian package: apt-get install -y redis-server (./dev.sh test does this).", ex);
        }

        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitForPingAsync();
    }

    /// <summary>Kills the server at once (no graceful shutdown), keeping its port for <see cref="StartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }

        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    /// <summary>Freezes the server (SIGSTOP): connections stay open, nothing is answered, as in a long GC-like stall.</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>Lets a paused server run again (SIGCONT).</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        var pid = _process?.Id ?? throw new InvalidOperationException("redis-server is not running.");
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) } })
            ?? throw new InvalidOperationException("kill did not start.");
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill {signal} {pid} exited with {kill.ExitCode}.");
        }
    }

    /// <summary>A client for test assertions (admin commands allowed), shared by the tests of the assembly.</summary>
    public IConnectionMultiplexer Client => _client ??= ConnectionMultiplexer.Connect(ConnectionString + ",allowAdmin=true");

    public IDatabase Database => Client.GetDatabase();

    /// <summary>A key prefix no other test class uses, so classes share one server without meeting.</summary>
    public static string NewKeyPrefix() => "t" + Guid.NewGuid().ToString("N")[..10];

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task WaitForPingAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, Port);
                var stream = tcp.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[16];
                var read = await stream.ReadAsync(buffer);
                if (read >= 5 && System.Text.Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
            }

            if (_process is { HasExited: true })
            {
                throw new InvalidOperationException($"redis-server exited with code {_process.ExitCode} on port {Port}.");
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"redis-server on port {Port} did not answer PING within 10 s.");
            }

            await Task.Delay(50);
        }
    }
}
