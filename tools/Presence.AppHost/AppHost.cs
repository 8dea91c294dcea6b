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
var redis = builder.AddExecutable(
    "redis", "redis-server", redisDir,
    "--bind", "127.0.0.1", "--port", RedisPort,
    "--save", "", "--appendonly", "no",
    "--notify-keyspace-events", "Ex");

AddService<Projects.Presence_HeartbeatApi>("heartbeat-api");
AddService<Projects.Presence_RealtimeGateway>("realtime-gateway");
AddService<Projects.Presence_StatusQuery>("status-query");
AddService<Projects.Presence_Janitor>("janitor");

// One origin like the production ingress (http://localhost:3001, its launchSettings port): a frontend sets
// NEXT_PUBLIC_BACKEND_URL=http://localhost:3001/v1, and the board page there reaches every service.
builder.AddProject<Projects.Presence_LocalProxy>("proxy", launchProfileName: "http");

var app = builder.Build();
MirrorConsoleLogs(app, logDir, new HashSet<string>(["redis", "heartbeat-api", "realtime-gateway", "status-query", "janitor", "proxy"]));
app.Run();

// The service's launchSettings "http" profile gives the fixed port Aspire proxies to it.
void AddService<TProject>(string name) where TProject : IProjectMetadata, new() =>
    builder.AddProject<TProject>(name, launchProfileName: "http")
        .WithEnvironment("ConnectionStrings__redis", RedisConnection)
        .WaitFor(redis);

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
