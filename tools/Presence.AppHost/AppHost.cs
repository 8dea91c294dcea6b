// Local run of the whole system (./dev.sh up): redis-server as a plain executable (no Docker needed) and
// the four services as project resources on their fixed launchSettings ports (5101-5104), all visible in
// the Aspire dashboard (http://localhost:15180). Each resource's console output is also mirrored to
// .dev/logs/<resource>.log so that ./dev.sh can show it when something fails to start.
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

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

var app = builder.Build();
MirrorConsoleLogs(app, logDir);
app.Run();

// The service's launchSettings "http" profile gives the fixed port Aspire proxies to it.
void AddService<TProject>(string name) where TProject : IProjectMetadata, new() =>
    builder.AddProject<TProject>(name, launchProfileName: "http")
        .WithEnvironment("ConnectionStrings__redis", RedisConnection)
        .WaitFor(redis);

static void MirrorConsoleLogs(DistributedApplication app, string logDir)
{
    var logs = app.Services.GetRequiredService<ResourceLoggerService>();
    var model = app.Services.GetRequiredService<DistributedApplicationModel>();
    foreach (var resource in model.Resources.Where(r => r is ExecutableResource or ProjectResource))
    {
        var path = Path.Combine(logDir, resource.Name + ".log");
        _ = Task.Run(async () =>
        {
            await using var writer = new StreamWriter(path, append: false) { AutoFlush = true };
            await foreach (var batch in logs.WatchAsync(resource))
            {
                foreach (var line in batch)
                {
                    await writer.WriteLineAsync(line.Content);
                }
            }
        });
    }
}
