using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>
/// Loads the store's scripts into every primary at start-up (and after a reconnect), so the first request
/// of a cold process is one EVALSHA rather than a NOSCRIPT answer plus an EVAL on top of JIT: under load
/// that first call could otherwise outlast the Redis timeout. Best effort: EVALSHA falls back by itself.
/// </summary>
internal sealed partial class ScriptPreloader(IConnectionMultiplexer redis, ILogger<ScriptPreloader> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionRestored += OnRestored;
        _ = LoadAsync();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionRestored -= OnRestored;
        return Task.CompletedTask;
    }

    private void OnRestored(object? sender, ConnectionFailedEventArgs e) => _ = LoadAsync();

    private async Task LoadAsync()
    {
        try
        {
            foreach (var endpoint in redis.GetEndPoints())
            {
                var server = redis.GetServer(endpoint);
                if (!server.IsConnected || server.IsReplica)
                {
                    continue;
                }

                foreach (var script in PresenceScripts.All)
                {
                    await server.ScriptLoadAsync(script.Text).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            // Best effort, off the request path: nothing here may fault the host.
            LogPreloadFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Preloading Redis scripts failed; EVALSHA falls back to EVAL")]
    private static partial void LogPreloadFailed(ILogger logger, Exception exception);
}
