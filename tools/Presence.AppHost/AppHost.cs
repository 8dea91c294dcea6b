// Local run of the whole system (./dev.sh up): redis-server as a plain executable (no Docker needed) and
// the four services as project resources on their fixed launchSettings ports (5101-5104), and the one-origin
// proxy (tools/Presence.LocalProxy) on http://localhost:3001, all visible in
// the Aspire dashboard (http://localhost:15180). Each resource's console output is also mirrored to
// .dev/logs/<resource>.log so that ./dev.sh can show it when something fails to start.
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = DistributedApplication.CreateBuilder(args);

const string RedisPort = "6380";
const string RedisConnection = "127.0.0.1:" + RedisPort;

// The git-ignored .dev/ folder at the repository root holds Redis's working directory and the logs.
var repoRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", ".."));
var stateDir = Path.Combine(repoRoot, ".dev");
var redisDir = Directory.CreateDirectory(Path.Combine(stateDir, "redis")).FullName;
var logDir = Directory.CreateDirectory(Path.Combine(stateDir, "logs")).FullName;

// Nothing is persisted; keyspace notifications for expired keys (the janitor listens to them).
// ./dev.sh up --cluster (PRESENCE_REDIS_CLUSTER=1): a 3-primary Redis Cluster in place of the single server.
var useCluster = Environment.GetEnvironmentVariable("PRESENCE_REDIS_CLUSTER") == "1";
var redisNames = new List<string>();
IResourceBuilder<ExecutableResource> redis;
var redisConnection = RedisConnection;
if (useCluster)
{
    (redis, redisConnection) = AddRedisCluster();
}
else
{
    redis = builder.AddExecutable(
        "redis", "redis-server", redisDir,
        "--bind", "127.0.0.1", "--port", RedisPort,
        "--save", "", "--appendonly", "no",
        "--notify-keyspace-events", "Ex");
    redisNames.Add("redis");
}

AddService<Projects.Presence_HeartbeatApi>("heartbeat-api");
AddService<Projects.Presence_RealtimeGateway>("realtime-gateway");
AddService<Projects.Presence_StatusQuery>("status-query");
AddService<Projects.Presence_Janitor>("janitor");

// One origin like the production ingress (http://localhost:3001, its launchSettings port): a frontend sets
// NEXT_PUBLIC_BACKEND_URL=http://localhost:3001/v1, and the board page there reaches every service.
builder.AddProject<Projects.Presence_LocalProxy>("proxy", launchProfileName: "http");

var app = builder.Build();
MirrorConsoleLogs(app, logDir, new HashSet<string>([.. redisNames, "heartbeat-api", "realtime-gateway", "status-query", "janitor", "proxy"]));
app.Run();

// The service's launchSettings "http" profile gives the fixed port Aspire proxies to it.
// On the cluster, the services start once the cluster was created (the creating process exited with 0).
void AddService<TProject>(string name) where TProject : IProjectMetadata, new()
{
    var service = builder.AddProject<TProject>(name, launchProfileName: "http")
        .WithEnvironment("ConnectionStrings__redis", redisConnection);
    if (useCluster)
    {
        service.WaitForCompletion(redis);
    }
    else
    {
        service.WaitFor(redis);
    }
}

// Three cluster-mode redis-servers on 7001-7003 (bus ports 17001-17003), node timeout 2 s, and a redis-cli step
// that assigns the slots once they answer. Each run starts from empty nodes (nodes.conf removed first). Returns
// the creating step (the services wait for it to complete) and the connection string listing every node.
(IResourceBuilder<ExecutableResource> Create, string Connection) AddRedisCluster()
{
    string[] ports = ["7001", "7002", "7003"];
    var nodes = new List<IResourceBuilder<ExecutableResource>>();
    foreach (var port in ports)
    {
        var dir = Directory.CreateDirectory(Path.Combine(stateDir, "redis-cluster", port)).FullName;
        File.Delete(Path.Combine(dir, "nodes.conf"));
        nodes.Add(builder.AddExecutable(
            "redis-" + port, "redis-server", dir,
            "--bind", "127.0.0.1", "--port", port,
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
            "--save", "", "--appendonly", "no",
            "--notify-keyspace-events", "Ex"));
        redisNames.Add("redis-" + port);
    }

    var endpoints = string.Join(' ', ports.Select(p => "127.0.0.1:" + p));
    var script = $"for p in {string.Join(' ', ports)}; do until redis-cli -p $p ping >/dev/null 2>&1; do sleep 0.1; done; done; "
        + $"redis-cli --cluster create {endpoints} --cluster-replicas 0 --cluster-yes && "
        + $"for p in {string.Join(' ', ports)}; do until redis-cli -p $p cluster info | grep -q cluster_state:ok; do sleep 0.1; done; done";
    var create = builder.AddExecutable("redis-cluster", "bash", stateDir, "-c", script);
    foreach (var node in nodes)
    {
        create.WaitFor(node);
    }

    redisNames.Add("redis-cluster");
    return (create, string.Join(',', ports.Select(p => "127.0.0.1:" + p)));
}

// Aspire keys console logs by the orchestrator's instance id (e.g. "janitor-abcd1234"), which is known
// once the resource is created: follow the notifications, and mirror each instance's log to a file.
static void MirrorConsoleLogs(DistributedApplication app, string logDir, IReadOnlySet<string> names)
{
    var logs = app.Services.GetRequiredService<ResourceLoggerService>();
    var notifications = app.Services.GetRequiredService<ResourceNotificationService>();
    var stopping = app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
    var mirrored = new HashSet<string>(StringComparer.Ordinal);
    _ = Task.Run(async () =>
    {
        await foreach (var update in notifications.WatchAsync(stopping))
        {
            if (names.Contains(update.Resource.Name) && mirrored.Add(update.ResourceId))
            {
                _ = Mirror(update.ResourceId, Path.Combine(logDir, update.Resource.Name + ".log"));
            }
        }
    }, stopping);

    async Task Mirror(string resourceId, string path)
    {
        await using var writer = new StreamWriter(path, append: false) { AutoFlush = true };
        await foreach (var batch in logs.WatchAsync(resourceId).WithCancellation(stopping))
        {
            foreach (var line in batch)
            {
                await writer.WriteLineAsync(line.Content);
            }
        }
    }
}
