using Microsoft.Extensions.Time.Testing;

namespace Presence.StatusQuery.Tests;

/// <summary>The store and the reader wired as the services wire them, on a fake clock and a key prefix of their own.</summary>
public sealed class ReaderHarness(RedisServer redis) : IAsyncDisposable
{
    private readonly CoreServices _core = new(redis);

    public FakeTimeProvider Time => _core.Time;

    public PresenceOptions Options => _core.Options;

    public PresenceKeys Keys => _core.Keys;

    public PresenceStore Store => _core.Store;

    public PresenceReader Reader => _core.Reader;

    private int _devices;

    /// <summary>A REST heartbeat (the online window) of a fresh device each time: no min interval applies, so tests can beat whenever they like.</summary>
    public Task BeatAsync(string id, PresenceRole role = PresenceRole.Therapist, bool? available = null) =>
        Store.HeartbeatAsync(new Heartbeat(role, id, HeartbeatTransport.Rest, available,
            Session: SessionRef.Rest("d" + Interlocked.Increment(ref _devices).ToString(System.Globalization.CultureInfo.InvariantCulture))), Ct);

    public Task SetAvailableAsync(string id, bool available = true) => Store.SetAvailabilityAsync(PresenceRole.Therapist, id, available, Ct);

    public Task<PresenceEntry> GetAsync(string id, PresenceRole role = PresenceRole.Therapist) => Reader.GetAsync(role, id, Ct);

    public Task<PresenceBoard> BoardAsync(PresenceRole role = PresenceRole.Therapist) => Reader.GetBoardAsync(role, Ct);

    public ValueTask DisposeAsync() => _core.DisposeAsync();
}
