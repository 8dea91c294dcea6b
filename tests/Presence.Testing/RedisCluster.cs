using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace Presence.Testing;

/// <summary>
/// A real Redis Cluster of <c>redis-server</c> processes in cluster mode on free loopback ports: 3 primaries, or
/// 3 primaries with one replica each (<c>new RedisCluster(withReplicas: true)</c>) for failover tests. Node timeout
/// 2000 ms, no persistence, keyspace notifications on (<c>Ex</c>). The slots are assigned directly (CLUSTER
/// ADDSLOTSRANGE, MEET, REPLICATE), which is faster than <c>redis-cli --cluster create</c>. Use it as an assembly
/// or class fixture like <see cref="RedisServer"/>; a class that kills or pauses nodes needs a cluster of its own.
/// Every node runs in a directory under the temp folder named <c>presence-cluster-*</c> holding pid files; a run
/// that was aborted before disposing leaves them behind, and the next cluster to start kills those nodes.
/// </summary>
public class RedisCluster : IRedisBackend, IAsyncLifetime
{
    public const int Slots = 16384;
    private const string DirectoryPrefix = "presence-cluster-";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(2);

    // Once per test process, before its first cluster: this process's own clusters are never orphans.
    private static readonly Lazy<bool> OrphansKilled = new(KillOrphans, LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), DirectoryPrefix + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<RedisClusterNode> _nodes = [];
    private ConnectionMultiplexer? _client;

    /// <summary>Three primaries, no replicas.</summary>
    public RedisCluster()
        : this(withReplicas: false)
    {
    }

    /// <param name="withReplicas">One replica per primary (6 nodes), so a primary can fail over.</param>
    /// <param name="nodeTimeoutMs">cluster-node-timeout: how long a node may be unreachable before it is failed.</param>
    protected RedisCluster(bool withReplicas, int nodeTimeoutMs = 2000)
    {
        WithReplicas = withReplicas;
        NodeTimeout = TimeSpan.FromMilliseconds(nodeTimeoutMs);
    }

    /// <summary>Starts a cluster outside of xunit's fixtures (the caller disposes it).</summary>
    public static async Task<RedisCluster> StartAsync(bool withReplicas = false, int nodeTimeoutMs = 2000)
    {
        var cluster = new RedisCluster(withReplicas, nodeTimeoutMs);
        try
        {
            await cluster.InitializeAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public bool WithReplicas { get; }

    public TimeSpan NodeTimeout { get; }

    /// <summary>All nodes as created: the 3 primaries first, then their replicas (replica i of primary i), whatever their role now.</summary>
    public IReadOnlyList<RedisClusterNode> Nodes => _nodes;

    /// <summary>For services under test: every node as an endpoint, failing fast while a node is down.</summary>
    public string ConnectionString =>
        string.Join(',', _nodes.Select(n => n.Address)) + ",abortConnect=false,connectRetry=1,connectTimeout=1000";

    /// <summary>A client for test assertions (admin commands allowed), shared by the tests using this cluster.</summary>
    public IConnectionMultiplexer Client => _client ??= ConnectionMultiplexer.Connect(ConnectionString + ",allowAdmin=true");

    public IDatabase Database => Client.GetDatabase();

    public async ValueTask InitializeAsync()
    {
        _ = OrphansKilled.Value;
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(Path.Combine(_directory, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var count = WithReplicas ? 6 : 3;
        foreach (var port in FreePorts(count))
        {
            _nodes.Add(new RedisClusterNode(port, Path.Combine(_directory, port.ToString(CultureInfo.InvariantCulture))));
        }

        foreach (var node in _nodes)
        {
            StartNode(node);
        }

        foreach (var node in _nodes)
        {
            await WaitForPingAsync(node);
            node.NodeId = await RespClient.TextAsync(node.Port, CommandTimeout, "CLUSTER", "MYID");
        }

        // Distinct config epochs before the nodes meet, as redis-cli does, so no epoch collision has to be resolved.
        for (var i = 0; i < _nodes.Count; i++)
        {
            await RespClient.CommandAsync(_nodes[i].Port, CommandTimeout, "CLUSTER", "SET-CONFIG-EPOCH", (i + 1).ToString(CultureInfo.InvariantCulture));
        }

        for (var i = 0; i < 3; i++)
        {
            var (first, last) = SlotRange(i);
            await RespClient.CommandAsync(_nodes[i].Port, CommandTimeout, "CLUSTER", "ADDSLOTSRANGE",
                first.ToString(CultureInfo.InvariantCulture), last.ToString(CultureInfo.InvariantCulture));
        }

        foreach (var node in _nodes.Skip(1))
        {
            await RespClient.CommandAsync(_nodes[0].Port, CommandTimeout, "CLUSTER", "MEET", "127.0.0.1", node.Port.ToString(CultureInfo.InvariantCulture));
        }

        if (WithReplicas)
        {
            for (var i = 0; i < 3; i++)
            {
                var replica = _nodes[i + 3];
                var primary = _nodes[i];
                // A replica can follow a primary only once gossip told it about that node.
                await PollAsync(async () => (await ClusterNodesAsync(replica)).Any(n => n.Id == primary.NodeId), TimeSpan.FromSeconds(15), $"node {replica.Port} learns of {primary.Port}");
                await RespClient.CommandAsync(replica.Port, CommandTimeout, "CLUSTER", "REPLICATE", primary.NodeId);
            }
        }

        await WaitForHealthyAsync();
    }

    /// <summary>The 16384 slots split as redis-cli splits them over 3 primaries.</summary>
    public static (int First, int Last) SlotRange(int primary) => primary switch
    {
        0 => (0, 5460),
        1 => (5461, 10922),
        2 => (10923, Slots - 1),
        _ => throw new ArgumentOutOfRangeException(nameof(primary)),
    };

    /// <summary>
    /// Waits until every running node reports <c>cluster_state:ok</c> with all slots served, knows every node, and
    /// (with replicas) every primary has a replica whose link is up; then refreshes the test client's view.
    /// </summary>
    public async Task WaitForHealthyAsync(TimeSpan? timeout = null)
    {
        timeout ??= TimeSpan.FromSeconds(30);
        var running = _nodes.Where(n => n.IsRunning && !n.IsPaused).ToList();
        await PollAsync(async () =>
        {
            foreach (var node in running)
            {
                var info = await InfoFieldsAsync(node, "CLUSTER", "INFO");
                if (info.GetValueOrDefault("cluster_state") != "ok" || info.GetValueOrDefault("cluster_slots_ok") != "16384")
                {
                    return false;
                }
            }

            if (WithReplicas)
            {
                var topology = await ClusterNodesAsync(running[0]);
                var primaries = topology.Where(n => n.IsPrimary && !n.IsFailed && n.SlotCount > 0).ToList();
                foreach (var primary in primaries)
                {
                    var replicas = topology.Where(n => n.PrimaryId == primary.Id && !n.IsFailed).ToList();
                    if (replicas.Count == 0 && running.Count == _nodes.Count)
                    {
                        return false;
                    }

                    foreach (var replica in replicas)
                    {
                        var node = NodeByPort(replica.Port);
                        if (!node.IsRunning || node.IsPaused)
                        {
                            continue;
                        }

                        var replication = await InfoFieldsAsync(node, "INFO", "replication");
                        if (replication.GetValueOrDefault("master_link_status") != "up")
                        {
                            return false;
                        }
                    }
                }
            }

            return true;
        }, timeout.Value, "the cluster is healthy (cluster_state:ok, all slots served" + (WithReplicas ? ", replicas attached)" : ")"));
        if (_client is not null)
        {
            await _client.ConfigureAsync();
        }
    }

    /// <summary>CRC16 (XMODEM) of the key, or of its hash tag (the first non-empty <c>{...}</c>), modulo 16384: the cluster's slot of a key.</summary>
    public static int HashSlot(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        if (open >= 0)
        {
            var close = key.IndexOf('}', open + 1);
            if (close > open + 1)
            {
                key = key[(open + 1)..close];
            }
        }

        ushort crc = 0;
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            crc ^= (ushort)(b << 8);
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            }
        }

        return crc % Slots;
    }

    /// <summary>The primary that serves the key's slot now, as the running nodes see it.</summary>
    public Task<RedisClusterNode> PrimaryForKeyAsync(RedisKey key) => PrimaryForSlotAsync(HashSlot(key.ToString()));

    /// <summary>The primary that serves the slot now, as the running nodes see it.</summary>
    public async Task<RedisClusterNode> PrimaryForSlotAsync(int slot)
    {
        var topology = await ClusterNodesAsync(AnyLiveNode());
        var owner = topology.Single(n => n.IsPrimary && !n.IsFailed && n.Serves(slot));
        return NodeByPort(owner.Port);
    }

    /// <summary>The running nodes that are primaries now (3 when healthy), in slot order.</summary>
    public async Task<IReadOnlyList<RedisClusterNode>> PrimariesAsync()
    {
        var topology = await ClusterNodesAsync(AnyLiveNode());
        return [.. topology.Where(n => n.IsPrimary && !n.IsFailed && n.SlotCount > 0).OrderBy(n => n.FirstSlot).Select(n => NodeByPort(n.Port))];
    }

    /// <summary>The running replica of the given primary, if any.</summary>
    public async Task<RedisClusterNode?> ReplicaOfAsync(RedisClusterNode primary)
    {
        var topology = await ClusterNodesAsync(AnyLiveNode());
        var replica = topology.FirstOrDefault(n => n.PrimaryId == primary.NodeId && !n.IsFailed);
        return replica is null ? null : NodeByPort(replica.Port);
    }

    /// <summary>A hash tag (to put in a key as <c>{tag}</c>) whose slot the given node serves as primary now.</summary>
    public async Task<string> HashTagOnAsync(RedisClusterNode primary, string stem = "n")
    {
        var topology = await ClusterNodesAsync(AnyLiveNode());
        var self = topology.Single(n => n.Id == primary.NodeId);
        for (var i = 0; ; i++)
        {
            var tag = stem + i.ToString(CultureInfo.InvariantCulture);
            if (self.Serves(HashSlot(tag)))
            {
                return tag;
            }
        }
    }

    /// <summary>SIGKILL: the node dies at once, as on a crash. It is not restarted.</summary>
    public async Task KillAsync(RedisClusterNode node)
    {
        if (node.Process is not { } process)
        {
            return;
        }

        process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
        node.Process = null;
        node.IsPaused = false;
    }

    /// <summary>SIGSTOP: the node freezes (its connections stay open but nothing answers), as in a long GC-like stall or a partition.</summary>
    public Task PauseAsync(RedisClusterNode node) => SignalAsync(node, "STOP", paused: true);

    /// <summary>SIGCONT: a paused node runs on.</summary>
    public Task ResumeAsync(RedisClusterNode node) => SignalAsync(node, "CONT", paused: false);

    /// <summary>
    /// After <paramref name="failed"/> was killed or paused: waits until another node serves its slots as primary and
    /// the cluster is ok again on every other running node; returns that node. The test client's view is refreshed.
    /// </summary>
    public async Task<RedisClusterNode> WaitForPromotionAsync(RedisClusterNode failed, TimeSpan? timeout = null)
    {
        timeout ??= NodeTimeout + TimeSpan.FromSeconds(15);
        RedisClusterNode? promoted = null;
        int? slot = null;
        await PollAsync(async () =>
        {
            var topology = await ClusterNodesAsync(AnyLiveNode(except: failed));
            // The failed node's entry keeps its slots until another node claims them with a newer epoch.
            slot ??= topology.Single(n => n.Id == failed.NodeId).FirstSlot;
            var owner = topology.FirstOrDefault(n => n.IsPrimary && !n.IsFailed && n.Id != failed.NodeId && n.Serves(slot.Value));
            if (owner is null)
            {
                return false;
            }

            foreach (var node in _nodes.Where(n => n != failed && n.IsRunning && !n.IsPaused))
            {
                var info = await InfoFieldsAsync(node, "CLUSTER", "INFO");
                if (info.GetValueOrDefault("cluster_state") != "ok")
                {
                    return false;
                }
            }

            promoted = NodeByPort(owner.Port);
            return true;
        }, timeout.Value, $"a replica takes over the slots of node {failed.Port}");
        if (_client is not null)
        {
            await _client.ConfigureAsync();
        }

        return promoted!;
    }

    /// <summary>CLUSTER NODES as one node sees it.</summary>
    public static async Task<IReadOnlyList<ClusterNodeInfo>> ClusterNodesAsync(RedisClusterNode node)
    {
        var text = await RespClient.TextAsync(node.Port, CommandTimeout, "CLUSTER", "NODES");
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ClusterNodeInfo.Parse)];
    }

    /// <summary>
    /// Sends one command to one node directly (not through the cluster client, so no redirection) and returns its
    /// reply: a string, a long, null, or an object?[] for arrays; an error reply throws InvalidOperationException.
    /// </summary>
    public static Task<object?> CommandAsync(RedisClusterNode node, params string[] args) => RespClient.CommandAsync(node.Port, CommandTimeout, args);

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            if (node.IsPaused && node.Process is { HasExited: false })
            {
                await SignalAsync(node, "CONT", paused: false);
            }

            await KillAsync(node);
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private RedisClusterNode NodeByPort(int port) => _nodes.Single(n => n.Port == port);

    private RedisClusterNode AnyLiveNode(RedisClusterNode? except = null) =>
        _nodes.FirstOrDefault(n => n != except && n.IsRunning && !n.IsPaused) ?? throw new InvalidOperationException("No node of the cluster is running.");

    private void StartNode(RedisClusterNode node)
    {
        Directory.CreateDirectory(node.Directory);
        var start = new ProcessStartInfo("redis-server")
        {
            WorkingDirectory = node.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--port", node.Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", ((int)NodeTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            "--save", "", "--appendonly", "no", "--notify-keyspace-events", "Ex", "--dir", node.Directory,
            "--pidfile", Path.Combine(node.Directory, "redis.pid"),
        })
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            node.Process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException(
                "redis-server was not found on PATH. Install the Debian package: apt-get install -y redis-server (./dev.sh test does this).", ex);
        }

        node.Process.OutputDataReceived += (_, _) => { };
        node.Process.ErrorDataReceived += (_, _) => { };
        node.Process.BeginOutputReadLine();
        node.Process.BeginErrorReadLine();
    }

    private static async Task SignalAsync(RedisClusterNode node, string signal, bool paused)
    {
        if (node.Process is not { HasExited: false } process)
        {
            throw new InvalidOperationException($"Node {node.Port} is not running.");
        }

        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {process.Id} failed.");
        }

        node.IsPaused = paused;
    }

    private static async Task WaitForPingAsync(RedisClusterNode node)
    {
        await PollAsync(async () =>
        {
            if (node.Process is { HasExited: true } process)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} on port {node.Port}.");
            }

            try
            {
                return await RespClient.TextAsync(node.Port, CommandTimeout, "PING") == "PONG";
            }
            catch (SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(10), $"redis-server on port {node.Port} answers PING");
    }

    private static async Task<Dictionary<string, string>> InfoFieldsAsync(RedisClusterNode node, params string[] command)
    {
        var text = await RespClient.TextAsync(node.Port, CommandTimeout, command);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                fields[line[..colon]] = line[(colon + 1)..];
            }
        }

        return fields;
    }

    /// <summary><see cref="Poll"/>, asking again while a node restarts or stalls (its connection refused or cut).</summary>
    private static Task PollAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        Poll.UntilAsync(async () =>
        {
            try
            {
                return await condition();
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
                return false;
            }
        }, what, timeout);

    /// <summary>Kills the nodes of clusters whose test run ended without disposing them (the owner process is gone), by their pid files.</summary>
    private static bool KillOrphans()
    {
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            try
            {
                var ownerFile = Path.Combine(directory, "owner.pid");
                if (File.Exists(ownerFile)
                    ? IsAlive(int.Parse(File.ReadAllText(ownerFile), CultureInfo.InvariantCulture))
                    : Directory.GetCreationTimeUtc(directory) > DateTime.UtcNow.AddMinutes(-1))
                {
                    // Still running, or another process is creating it right now.
                    continue;
                }

                foreach (var pidFile in Directory.EnumerateFiles(directory, "redis.pid", SearchOption.AllDirectories))
                {
                    if (int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid) && IsAlive(pid))
                    {
                        using var process = Process.GetProcessById(pid);
                        if (process.ProcessName.StartsWith("redis-server", StringComparison.Ordinal))
                        {
                            process.Kill();
                            process.WaitForExit(5000);
                        }
                    }
                }

                Directory.Delete(directory, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException or ArgumentException)
            {
                // Another run's leftovers we cannot read or remove: leave them.
            }
        }

        return true;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static IEnumerable<int> FreePorts(int count)
    {
        // Held open together so no two are the same; the cluster bus takes port + 10000, which must be free too.
        var listeners = new List<TcpListener>();
        try
        {
            while (listeners.Count < count)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (port + 10000 > 65535 || !IsFree(port + 10000))
                {
                    listener.Stop();
                    continue;
                }

                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>3 primaries with one replica each: a class fixture for tests that fail a primary over.</summary>
public sealed class ReplicatedRedisCluster() : RedisCluster(withReplicas: true);

/// <summary>One <c>redis-server</c> of a <see cref="RedisCluster"/>.</summary>
public sealed class RedisClusterNode
{
    internal RedisClusterNode(int port, string directory)
    {
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    public string Address => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public EndPoint EndPoint => new IPEndPoint(IPAddress.Loopback, Port);

    /// <summary>The node's cluster id (CLUSTER MYID).</summary>
    public string NodeId { get; internal set; } = string.Empty;

    public int? ProcessId => Process is { HasExited: false } p ? p.Id : null;

    public bool IsRunning => Process is { HasExited: false };

    /// <summary>Stopped with SIGSTOP (<see cref="RedisCluster.PauseAsync"/>) and not yet resumed.</summary>
    public bool IsPaused { get; internal set; }

    internal string Directory { get; }

    internal Process? Process { get; set; }

    public override string ToString() => Address;
}

/// <summary>One line of CLUSTER NODES.</summary>
public sealed record ClusterNodeInfo(string Id, int Port, string[] Flags, string? PrimaryId, IReadOnlyList<(int First, int Last)> SlotRanges)
{
    public bool IsPrimary => Flags.Contains("master");

    /// <summary>Failed (<c>fail</c>), not merely suspected (<c>fail?</c>).</summary>
    public bool IsFailed => Flags.Contains("fail");

    public int SlotCount => SlotRanges.Sum(r => r.Last - r.First + 1);

    public int FirstSlot => SlotRanges.Count == 0 ? int.MaxValue : SlotRanges.Min(r => r.First);

    public bool Serves(int slot) => SlotRanges.Any(r => slot >= r.First && slot <= r.Last);

    public static ClusterNodeInfo Parse(string line)
    {
        // <id> <ip:port@cport[,hostname]> <flags> <primary> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> ...
        var parts = line.Trim().Split(' ');
        var address = parts[1].Split('@')[0];
        var port = int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        var ranges = new List<(int, int)>();
        foreach (var slot in parts.Skip(8).Where(s => !s.StartsWith('[')))
        {
            var dash = slot.IndexOf('-', StringComparison.Ordinal);
            ranges.Add(dash < 0
                ? (int.Parse(slot, CultureInfo.InvariantCulture), int.Parse(slot, CultureInfo.InvariantCulture))
                : (int.Parse(slot[..dash], CultureInfo.InvariantCulture), int.Parse(slot[(dash + 1)..], CultureInfo.InvariantCulture)));
        }

        return new ClusterNodeInfo(parts[0], port, parts[2].Split(','), parts[3] == "-" ? null : parts[3], ranges);
    }
}
