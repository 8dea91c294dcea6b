using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Presence.Janitor.Leadership;

namespace Presence.Janitor.Tests;

/// <summary>The janitor host (workers, probes) on a real Redis, with the fake clock and its log lines captured.</summary>
internal sealed class JanitorAppFactory : PresenceAppFactory<Program>
{
    public JanitorAppFactory(IRedisBackend redis)
        : base(redis)
    {
        // The lease's PX runs on Redis's real clock while the workers run on the fake one: a long lease keeps the
        // leader leading for the whole test whatever the fake clock does.
        Settings["Janitor:LeaseDuration"] = "00:02:00";
        Settings["Redis:Resilience:BreakDuration"] = "00:00:00.500";
        // Tests read the janitor's own information lines (subscribed, leadership).
        Settings["Logging:LogLevel:Presence.Janitor"] = "Information";
    }

    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Logs { get; } = new();

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public LeaderLease Lease => Get<LeaderLease>();

    public IDatabase Db => Redis.Database;

    public long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<string[]> StatusesAsync(PresenceRole role, string id) =>
        [.. (await Db.AllEventsAsync(Keys, role)).Where(e => e["id"] == id).Select(e => e["status"].ToString())];

    /// <summary>Starts the host, its workers with it, and waits until it leads (the only replica); the client is the host's.</summary>
    public async Task<HttpClient> StartLeadingAsync()
    {
        var client = CreateClient();
        await Poll.UntilAsync(() => Lease.IsLeader, "the janitor leads");
        return client;
    }

    /// <summary>Moves the fake clock a step at a time, giving the workers real time to act, until the condition holds.</summary>
    public Task AdvanceUntilAsync(Func<Task<bool>> condition, TimeSpan? step = null, TimeSpan? timeout = null) =>
        Poll.UntilAsync(condition, "the condition, on the fake clock", timeout, Time, step ?? TimeSpan.FromSeconds(1));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureLogging(logging => logging.AddProvider(new QueueLoggerProvider(Logs)));
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<(LogLevel, string, string)> logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(logs, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class QueueLogger(ConcurrentQueue<(LogLevel, string, string)> logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                logs.Enqueue((logLevel, category, formatter(state, exception)));
            }
        }
    }
}
