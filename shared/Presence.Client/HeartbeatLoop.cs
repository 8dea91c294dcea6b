using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Presence.Client;

/// <summary>Settings of <see cref="HeartbeatLoop"/>.</summary>
public sealed class HeartbeatLoopOptions
{
    /// <summary>The role the heartbeats are sent for (the token's role).</summary>
    public required PresenceRole Role { get; init; }

    /// <summary>Never two REST heartbeats closer than this (the server's min interval, docs/architecture.md "Windows"), whatever the server advertises.</summary>
    public TimeSpan MinInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Used until the server has said otherwise.</summary>
    public TimeSpan DefaultInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>An advertised interval longer than this is capped (a misconfigured server cannot silence the client).</summary>
    public TimeSpan MaxInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Sent with every heartbeat (therapists only): keeps "accepting sessions" as this process wants it.</summary>
    public bool? Available { get; init; }

    /// <summary>Sign off (REST) when stopped, so the user is recent at once instead of after the online window.</summary>
    public bool SignOffOnStop { get; init; } = true;
}

/// <summary>What one heartbeat attempt of <see cref="HeartbeatLoop"/> came to.</summary>
public enum HeartbeatOutcome
{
    /// <summary>The server took it.</summary>
    Accepted,

    /// <summary>429: waited for the server's <c>Retry-After</c>.</summary>
    Throttled,

    /// <summary>503: waited for the server's <c>Retry-After</c>.</summary>
    Unavailable,

    /// <summary>401/403: the token is refused; retried at the normal interval (the token provider may have a new one).</summary>
    Refused,

    /// <summary>Network or hub failure: retried with jittered backoff, never later than the interval.</summary>
    Failed,
}

/// <summary>How a heartbeat went out: over the hub while <see cref="PresenceHubClient"/> is connected, else REST.</summary>
public enum HeartbeatTransport
{
    /// <summary><c>POST /v1/{therapists,community}/heartbeat</c>.</summary>
    Rest,

    /// <summary>The hub's <c>Heartbeat</c> method.</summary>
    Hub,
}

/// <summary>What one heartbeat attempt did and when the next one is due.</summary>
public sealed record HeartbeatAttempt(HeartbeatOutcome Outcome, HeartbeatTransport Transport, TimeSpan NextDelay, HeartbeatAck? Ack, Exception? Error);

/// <summary>
/// Sends heartbeats for one user until stopped: over the hub when <see cref="PresenceHubClient"/> is connected, else REST.
/// It obeys <c>nextHeartbeatSeconds</c> of every answer (adaptive interval), waits out <c>Retry-After</c> on 429 and 503,
/// never sends REST heartbeats closer than <see cref="HeartbeatLoopOptions.MinInterval"/>, and backs off with jitter on
/// failures. An <see cref="IHostedService"/>: register it with <c>AddHostedService</c>, or call Start/Stop yourself.
/// </summary>
public sealed partial class HeartbeatLoop : IHostedService, IAsyncDisposable
{
    private readonly PresenceClient _client;
    private readonly PresenceHubClient? _hub;
    private readonly HeartbeatLoopOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly JitteredRetryPolicy _backoff = new();
    private CancellationTokenSource? _stopping;
    private Task? _running;
    private long _interval;
    private long _nextBeatDue;
    private int _failures;

    /// <summary>A loop over <paramref name="client"/>; with <paramref name="hub"/> connected, heartbeats go over the hub.</summary>
    public HeartbeatLoop(PresenceClient client, HeartbeatLoopOptions options, PresenceHubClient? hub = null, TimeProvider? time = null,
        ILogger<HeartbeatLoop>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _options = options;
        _hub = hub;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _interval = options.DefaultInterval.Ticks;
    }

    /// <summary>Raised after every attempt (on the loop's thread; keep handlers short).</summary>
    public event Action<HeartbeatAttempt>? Attempted;

    /// <summary>True between start and stop.</summary>
    public bool IsRunning => _running is { IsCompleted: false };

    /// <summary>The interval in force: the last advertised <c>nextHeartbeatSeconds</c>, bounded by the options.</summary>
    public TimeSpan CurrentInterval => TimeSpan.FromTicks(Interlocked.Read(ref _interval));

    /// <summary>When the loop will send next (on its <see cref="TimeProvider"/>); null before the first attempt finished.</summary>
    public DateTimeOffset? NextBeatDue => Interlocked.Read(ref _nextBeatDue) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>The last attempt, or null before the first.</summary>
    public HeartbeatAttempt? LastAttempt { get; private set; }

    /// <summary>Starts heartbeating at once, then at the server's advertised interval.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (IsRunning)
        {
            return Task.CompletedTask;
        }

        _stopping = new CancellationTokenSource();
        _running = RunAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    /// <summary>Stops the loop and signs off unless the options say otherwise.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null || _running is null)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }

        _stopping.Dispose();
        _stopping = null;
        _running = null;
        if (_options.SignOffOnStop)
        {
            try
            {
                await _client.SignOffAsync(_options.Role, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is PresenceApiException or HttpRequestException or TaskCanceledException)
            {
                // The user becomes recent when the online window passes anyway.
                LogSignOffFailed(_logger, ex.Message);
            }
        }
    }

    /// <summary>Stops the loop.</summary>
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    private async Task RunAsync(CancellationToken stopping)
    {
        await Task.Yield();
        while (!stopping.IsCancellationRequested)
        {
            var attempt = await BeatOnceAsync(stopping).ConfigureAwait(false);
            if (attempt is null)
            {
                return;
            }

            LastAttempt = attempt;
            // The timer exists before the due time is published, so whoever reads NextBeatDue can rely on it.
            var wait = Task.Delay(attempt.NextDelay, _time, stopping);
            Interlocked.Exchange(ref _nextBeatDue, (_time.GetUtcNow() + attempt.NextDelay).UtcTicks);
            Attempted?.Invoke(attempt);
            try
            {
                await wait.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<HeartbeatAttempt?> BeatOnceAsync(CancellationToken stopping)
    {
        var request = new HeartbeatRequest { Timestamp = _time.GetUtcNow(), Available = _options.Available };
        var transport = _hub is { IsConnected: true } ? HeartbeatTransport.Hub : HeartbeatTransport.Rest;
        try
        {
            var ack = transport == HeartbeatTransport.Hub
                ? await _hub!.HeartbeatAsync(request, stopping).ConfigureAwait(false)
                : await _client.HeartbeatAsync(_options.Role, request, stopping).ConfigureAwait(false);
            _failures = 0;
            var advertised = TimeSpan.FromSeconds(Math.Max(1, ack.NextHeartbeatSeconds));
            var interval = advertised > _options.MaxInterval ? _options.MaxInterval : advertised;
            if (transport == HeartbeatTransport.Rest && interval < _options.MinInterval)
            {
                interval = _options.MinInterval;
            }

            Interlocked.Exchange(ref _interval, interval.Ticks);
            return new HeartbeatAttempt(HeartbeatOutcome.Accepted, transport, interval, ack, null);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return null;
        }
        catch (PresenceRateLimitedException ex)
        {
            return new HeartbeatAttempt(HeartbeatOutcome.Throttled, transport, AtLeastASecond(ex.RetryAfter ?? _options.MinInterval), null, ex);
        }
        catch (PresenceUnavailableException ex)
        {
            return new HeartbeatAttempt(HeartbeatOutcome.Unavailable, transport, AtLeastASecond(ex.RetryAfter ?? Backoff()), null, ex);
        }
        catch (Exception ex) when (ex is PresenceUnauthorizedException or PresenceForbiddenException)
        {
            LogRefused(_logger, ex.Message);
            return new HeartbeatAttempt(HeartbeatOutcome.Refused, transport, CurrentInterval, null, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or HubException or InvalidOperationException or PresenceApiException or TaskCanceledException)
        {
            LogFailed(_logger, transport, ex.Message);
            return new HeartbeatAttempt(HeartbeatOutcome.Failed, transport, Backoff(), null, ex);
        }
    }

    private TimeSpan Backoff()
    {
        var delay = _backoff.Delay(++_failures);
        return delay < CurrentInterval ? delay : CurrentInterval;
    }

    private static TimeSpan AtLeastASecond(TimeSpan delay) => delay < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : delay;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat over {Transport} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, HeartbeatTransport transport, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sign-off on stop failed: {Reason}")]
    private static partial void LogSignOffFailed(ILogger logger, string reason);
}
