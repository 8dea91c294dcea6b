using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.AspNetCore.TestHost;
using Presence.StatusQuery.Features.Board;

namespace Presence.StatusQuery.Tests;

/// <summary>status-query through its real pipeline, on a real Redis, a key prefix of its own and a fake clock.</summary>
public sealed class StatusQueryApp(RedisServer redis) : PresenceAppFactory<Program>(redis)
{
    public const string BoardUrl = "/v1/therapists/status/realtime";

    /// <summary>Runs the app on the system clock, for a browser whose polling and windows pass in real time.</summary>
    public bool RealClock { get; init; }

    public PresenceStore Store => Services.GetRequiredService<PresenceStore>();

    private int _devices;

    /// <summary>A REST heartbeat (the online window) of a fresh device each time: no min interval applies.</summary>
    public Task BeatAsync(string id, PresenceRole role = PresenceRole.Therapist, bool? available = null) =>
        Store.HeartbeatAsync(new Heartbeat(role, id, HeartbeatTransport.Rest, available,
            Session: SessionRef.Rest("d" + Interlocked.Increment(ref _devices).ToString(System.Globalization.CultureInfo.InvariantCulture))), Ct);

    public Task SetAvailableAsync(string id, bool available = true) => Store.SetAvailabilityAsync(PresenceRole.Therapist, id, available, Ct);

    /// <summary>
    /// Moves the fake clock and empties the output cache, whose entries expire on the real clock: together they
    /// stand for "a refresh interval has passed".
    /// </summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Time.Advance(by);
        await Services.GetRequiredService<IOutputCacheStore>().EvictByTagAsync(PublicReadCachePolicy.Tag, Ct);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        if (RealClock)
        {
            builder.ConfigureTestServices(services => services.AddSingleton(TimeProvider.System));
        }
    }

    /// <summary>Counts board builds through the <c>presence.board.build.duration</c> instrument of this app's meter.</summary>
    public BuildCounter CountBuilds() => new(Services.GetRequiredService<StatusQueryMetrics>().Meter);
}

public sealed class BuildCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private int _builds;

    public BuildCounter(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "presence.board.build.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _builds));
        _listener.Start();
    }

    public int Builds => Volatile.Read(ref _builds);

    public void Dispose() => _listener.Dispose();
}
