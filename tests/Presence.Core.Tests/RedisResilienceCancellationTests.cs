using Microsoft.Extensions.Options;

namespace Presence.Core.Tests;

/// <summary>
/// A cancellation the caller did not ask for (StackExchange.Redis cancels pending commands when a connection is torn
/// down) is an outage of the store: it leaves as <see cref="RedisUnavailableException"/>, which every background loop
/// backs off from, never as a bare <see cref="OperationCanceledException"/> that stops a host.
/// </summary>
public sealed class RedisResilienceCancellationTests
{
    private readonly RedisResilience _resilience = new(Options.Create(new RedisResilienceOptions()));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_cancellation_the_caller_did_not_ask_for_is_unavailable(bool idempotent)
    {
        var ex = await Assert.ThrowsAsync<RedisUnavailableException>(() => _resilience.ExecuteAsync<int, int>(
            (_, _) => Task.FromException<int>(new TaskCanceledException("connection torn down")), 0, idempotent, CancellationToken.None).AsTask());
        Assert.Equal(RedisErrorClass.Timeout, ex.Class);
        Assert.True(ex.RetryAfter >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task The_callers_own_cancellation_stays_a_cancellation()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _resilience.ExecuteAsync<int, int>(
            (_, token) => Task.FromCanceled<int>(token), 0, idempotent: false, cts.Token).AsTask());
    }
}
