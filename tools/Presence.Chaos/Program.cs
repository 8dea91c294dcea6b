using System.Globalization;
using Presence.Chaos;
using Presence.Core;
using Presence.Testing;
using StackExchange.Redis;

// The chaos and soak run (docs/reliability.md, "Chaos and soak"): real service processes on free loopback ports,
// simulated REST and hub users, faults on a schedule, and a report from the event streams and the users' own view.
var (settings, parseExit) = Settings.Parse(args);
if (settings is null)
{
    return parseExit;
}

using var cts = new CancellationTokenSource();
await using var cluster = new Cluster();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.KillAll();

var root = settings.Root;
var logDir = Path.Combine(root, ".dev", "chaos");
Directory.CreateDirectory(logDir);
foreach (var old in Directory.GetFiles(logDir, "*.log"))
{
    File.Delete(old);
}

var redisPort = ServiceProcess.FreePort();
var redis = new ServiceProcess("redis", "redis-server",
    ["--port", redisPort.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", logDir],
    new Dictionary<string, string>(), Path.Combine(logDir, "redis.log"));
cluster.Start(redis);

var prefix = "chaos";
var redisConnection = $"127.0.0.1:{redisPort},abortConnect=false,connectRetry=1,connectTimeout=2000";
var env = new Dictionary<string, string>
{
    ["ConnectionStrings__redis"] = redisConnection,
    ["Logging__LogLevel__Default"] = "Warning",
    ["Presence__KeyPrefix"] = prefix,
    ["Presence__OnlineWindow"] = Settings.Span(settings.OnlineWindow),
    ["Presence__HeartbeatInterval"] = Settings.Span(settings.HeartbeatInterval),
    ["Presence__MinHeartbeatInterval"] = "00:00:02",
    ["Presence__StaleConnection"] = Settings.Span(settings.StaleConnection),
    ["Presence__LeaveGrace"] = Settings.Span(settings.LeaveGrace),
    ["Presence__InstanceLease"] = Settings.Span(settings.InstanceLease),
    ["Presence__EventStreamMaxLength"] = "10000000",
    // Every simulated user comes from 127.0.0.1: the per-address cap is meant for real clients.
    ["Gateway__Limits__MaxConnectionsPerAddress"] = "1000000",
    ["Janitor__LeaseDuration"] = Settings.Span(settings.JanitorLease),
};

// Release builds (./dev.sh chaos builds them), each on a free port, in Development.
ServiceProcess Dotnet(string name, string project, string assembly) =>
    ServiceProcess.Dotnet(name, ServiceProcess.ServiceAssembly(project, assembly, "Release", root), env, Path.Combine(logDir, name + ".log"));

var api = Dotnet("heartbeat-api", "heartbeat-api", "Presence.HeartbeatApi");
var gateways = new[] { Dotnet("gateway-1", "realtime-gateway", "Presence.RealtimeGateway"), Dotnet("gateway-2", "realtime-gateway", "Presence.RealtimeGateway") };
var janitors = new[] { Dotnet("janitor-1", "janitor", "Presence.Janitor"), Dotnet("janitor-2", "janitor", "Presence.Janitor") };
ServiceProcess[] services = [api, .. gateways, .. janitors];
var exit = 1;
try
{
    foreach (var service in services)
    {
        cluster.Start(service);
    }

    foreach (var service in services)
    {
        await service.WaitReadyAsync(TimeSpan.FromSeconds(90), ct: cts.Token);
    }

    Console.WriteLine($"services ready: redis :{redisPort}, {string.Join(", ", services.Select(s => $"{s.Name} {s.BaseUrl}"))}; logs in {logDir}");
    using var admin = await ConnectionMultiplexer.ConnectAsync(redisConnection + ",allowAdmin=true");
    exit = await new Run(settings, cluster, admin, redis, api, gateways, janitors, prefix).ExecuteAsync(cts.Token);
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    Console.Error.WriteLine("cancelled");
}
catch (Exception ex)
{
    Console.Error.WriteLine($"the run failed: {ex}");
    exit = 3;
}
finally
{
    cluster.KillAll();
}

return exit;
