using Polly.CircuitBreaker;

namespace Presence.Core.Tests;

public sealed class RedisErrorsTests
{
    [Theory]
    [InlineData("OOM command not allowed when used memory > 'maxmemory'.", RedisErrorClass.OutOfMemory)]
    [InlineData("OOM command not allowed when used memory > 'maxmemory'. script: 71e6, on @user_script:1.", RedisErrorClass.OutOfMemory)]
    [InlineData("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", RedisErrorClass.Misconfigured)]
    [InlineData("NOPERM User presence has no permissions to run the 'evalsha' command", RedisErrorClass.NoPermission)]
    [InlineData("NOAUTH Authentication required.", RedisErrorClass.NoPermission)]
    [InlineData("WRONGPASS invalid username-password pair or user is disabled.", RedisErrorClass.NoPermission)]
    [InlineData("READONLY You can't write against a read only replica.", RedisErrorClass.ReadOnly)]
    [InlineData("LOADING Redis is loading the dataset in memory", RedisErrorClass.Loading)]
    [InlineData("BUSY Redis is busy running a script.", RedisErrorClass.Busy)]
    [InlineData("MASTERDOWN Link with MASTER is down", RedisErrorClass.Failover)]
    [InlineData("TRYAGAIN Multiple keys request during rehashing of slot", RedisErrorClass.Failover)]
    [InlineData("BUSYGROUP Consumer Group name already exists", RedisErrorClass.Server)]
    [InlineData("ERR user_script:3: attempt to compare nil with number", RedisErrorClass.Server)]
    public void Error_replies_are_classified_by_their_code(string reply, RedisErrorClass expected) =>
        Assert.Equal(expected, RedisErrors.Classify(new RedisServerException(reply)));

    [Fact]
    public void Client_side_failures_are_classified()
    {
        Assert.Equal(RedisErrorClass.Connection, RedisErrors.Classify(new RedisConnectionException(ConnectionFailureType.SocketFailure, "down")));
        Assert.Equal(RedisErrorClass.Timeout, RedisErrors.Classify(new RedisTimeoutException("slow", CommandStatus.Sent)));
        Assert.Equal(RedisErrorClass.BreakerOpen, RedisErrors.Classify(new BrokenCircuitException()));
        Assert.Null(RedisErrors.Classify(new InvalidOperationException()));
        Assert.Equal(RedisErrorClass.OutOfMemory,
            RedisErrors.Classify(new RedisUnavailableException(TimeSpan.FromSeconds(5), RedisErrorClass.OutOfMemory, new RedisServerException("OOM"))));
    }

    [Fact]
    public void Refusals_are_not_transient_so_they_neither_retry_nor_open_the_circuit()
    {
        foreach (var reply in new[] { "OOM x", "MISCONF x", "NOPERM x" })
        {
            var ex = new RedisServerException(reply);
            Assert.True(RedisErrors.IsRefusal(ex), reply);
            Assert.False(RedisErrors.IsTransient(ex), reply);
            Assert.True(RedisErrors.IsRedisFailure(ex), reply);
        }

        Assert.True(RedisErrors.IsTransient(new RedisServerException("READONLY x")));
        Assert.False(RedisErrors.IsRefusal(new RedisServerException("ERR x")));
    }

    [Theory]
    [InlineData(1, 1000)]
    [InlineData(2, 2000)]
    [InlineData(4, 5000)]
    [InlineData(40, 5000)]
    public void Loop_backoff_doubles_up_to_its_cap_with_at_most_a_fifth_of_jitter(int failures, int expectedMs)
    {
        var backoff = RedisLoops.Backoff(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

        Assert.InRange(backoff.TotalMilliseconds, expectedMs * 0.8, expectedMs);
    }
}
