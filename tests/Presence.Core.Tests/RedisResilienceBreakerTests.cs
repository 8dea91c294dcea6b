using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using StackExchange.Redis;

namespace Presence.Core.Tests;

/// <summary>
/// The breaker counts calls that are not retried the same whether they ran through the pipeline or beside it while
/// it was closed: successes keep it closed, failures and timeouts open it, and an open breaker fails calls at once.
/// </summary>
public sealed class RedisResilienceBreakerTests
{
    private readonly RedisResilience _resilience = new(Options.Create(new RedisResilienceOptions
    {
        Timeout = TimeSpan.FromMilliseconds(50),
        BreakDuration = TimeSpan.FromSeconds(30),
    }));

    private static Task<int> Fail(int _, CancellationToken __) =>
        Task.FromException<int>(new RedisConnectionException(ConnectionFailureType.SocketFailure, "down"));

    [Fact]
    public async Task Failures_open_the_breaker_and_an_open_breaker_fails_fast_without_calling_redis()
    {
        for (var i = 0; i < 4; i++)
        {
            var ex = await Assert.ThrowsAsync<RedisUnavailableException>(() => _resilience.ExecuteAsync<int, int>(Fail, 0, idempotent: false, CancellationToken.None).AsTask());
            Assert.Equal(RedisErrorClass.Connection, ex.Class);
        }

        Assert.Equal(CircuitState.Open, _resilience.CircuitState);
        var called = false;
        var open = await Assert.ThrowsAsync<RedisUnavailableException>(() => _resilience.ExecuteAsync<int, int>(
            (_, _) => { called = true; return Task.FromResult(1); }, 0, idempotent: false, CancellationToken.None).AsTask());
        Assert.False(called);
        Assert.Equal(RedisErrorClass.BreakerOpen, open.Class);
        Assert.True(open.RetryAfter >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_call_past_the_timeout_is_a_timeout_and_counts_as_a_failure()
    {
        var never = new TaskCompletionSource<int>();
        for (var i = 0; i < 4; i++)
        {
            var ex = await Assert.ThrowsAsync<RedisUnavailableException>(() => _resilience.ExecuteAsync<int, int>(
                (_, _) => never.Task, 0, idempotent: false, CancellationToken.None).AsTask());
            Assert.Equal(RedisErrorClass.Timeout, ex.Class);
        }

        Assert.Equal(CircuitState.Open, _resilience.CircuitState);
    }

    [Fact]
    public async Task Successes_count_so_a_few_failures_among_many_successes_leave_it_closed()
    {
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(i, await _resilience.ExecuteAsync<int, int>(static (n, _) => Task.FromResult(n), i, idempotent: false, CancellationToken.None));
        }

        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<RedisUnavailableException>(() => _resilience.ExecuteAsync<int, int>(Fail, 0, idempotent: false, CancellationToken.None).AsTask());
        }

        Assert.Equal(CircuitState.Closed, _resilience.CircuitState);
    }

    [Fact]
    public async Task A_redis_timeout_of_the_call_itself_stays_the_calls_own_exception()
    {
        var ex = await Assert.ThrowsAsync<RedisUnavailableException>(() => _resilience.ExecuteAsync<int, int>(
            (_, _) => Task.FromException<int>(new RedisTimeoutException("slow", CommandStatus.Sent)), 0, idempotent: false, CancellationToken.None).AsTask());
        Assert.IsType<RedisTimeoutException>(ex.InnerException);
        Assert.Equal(RedisErrorClass.Timeout, ex.Class);
    }
}
