using Microsoft.Extensions.Time.Testing;

namespace Presence.RealtimeGateway.Tests;

/// <summary>
/// What the janitor does about gateway instances, wired as a service would wire the shared store, on a clock of
/// its own: the tests move it past a lease to see which instances lapsed, without touching the gateways' clocks.
/// </summary>
internal sealed class JanitorStand(RedisServer redis, string prefix) : IAsyncDisposable
{
    private readonly CoreServices _core = new(redis, prefix: prefix, start: DateTimeOffset.UtcNow);

    public FakeTimeProvider Time => _core.Time;

    public ConnectionStore Connections => _core.Connections;

    public PresenceOptions Options => _core.Options;

    public ValueTask DisposeAsync() => _core.DisposeAsync();
}
