namespace Presence.RealtimeGateway.Tests;

public sealed class ResilienceTests
{
    [Fact]
    public void BUSYGROUP_is_an_answer_not_a_transient_failure_while_BUSY_is()
    {
        // Treated as transient, the gateway's "group already exists" reply was retried and opened the circuit.
        Assert.False(RedisResilience.IsTransient(new RedisServerException("BUSYGROUP Consumer Group name already exists")));
        Assert.True(RedisResilience.IsTransient(new RedisServerException("BUSY Redis is busy running a script.")));
    }
}
