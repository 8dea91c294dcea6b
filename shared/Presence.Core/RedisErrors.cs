using System.Net.Sockets;
using Polly.CircuitBreaker;
using Polly.Timeout;
using StackExchange.Redis;

namespace Presence.Core;

/// <summary>What went wrong with a Redis call, as logs and the <c>presence.redis.errors</c> counter name it.</summary>
public enum RedisErrorClass
{
    /// <summary>Not connected, the socket broke, or the multiplexer is gone.</summary>
    Connection,

    /// <summary>No answer within the call's timeout.</summary>
    Timeout,

    /// <summary>Not sent: the circuit breaker is open after too many failures.</summary>
    BreakerOpen,

    /// <summary><c>LOADING</c>: the server is loading its dataset after a restart.</summary>
    Loading,

    /// <summary><c>BUSY</c>: a script runs past the server's busy threshold.</summary>
    Busy,

    /// <summary><c>READONLY</c>: the address now points at a replica (a failover in progress).</summary>
    ReadOnly,

    /// <summary><c>MASTERDOWN</c>, <c>TRYAGAIN</c>, <c>CLUSTERDOWN</c>, <c>MOVED</c>, <c>ASK</c>: a failover or resharding in progress.</summary>
    Failover,

    /// <summary><c>OOM</c>: <c>maxmemory</c> reached under <c>noeviction</c>; writes are refused, reads still work.</summary>
    OutOfMemory,

    /// <summary><c>MISCONF</c>: the server cannot persist and refuses writes (<c>stop-writes-on-bgsave-error</c>).</summary>
    Misconfigured,

    /// <summary><c>NOPERM</c>, <c>NOAUTH</c>, <c>WRONGPASS</c>: the ACL user may not do this, or is not authenticated.</summary>
    NoPermission,

    /// <summary>Any other error reply (a script error, a wrong type): a bug rather than an outage.</summary>
    Server,
}

/// <summary>
/// The one place Redis failures are classified. Transient classes count towards the circuit breaker and are retried
/// where a call is idempotent; refusals (<see cref="RedisErrorClass.OutOfMemory"/>, <see cref="RedisErrorClass.Misconfigured"/>,
/// <see cref="RedisErrorClass.NoPermission"/>) are not retried and do not open the circuit (reads may still work), but
/// leave as <see cref="RedisUnavailableException"/> like an outage: HTTP answers 503, background loops back off.
/// </summary>
public static class RedisErrors
{
    /// <summary>The class of a Redis failure (looking through <see cref="RedisUnavailableException"/>), or null when it is not one.</summary>
    public static RedisErrorClass? Classify(Exception ex) => ex switch
    {
        RedisUnavailableException unavailable => unavailable.Class,
        BrokenCircuitException => RedisErrorClass.BreakerOpen,
        RedisTimeoutException or TimeoutRejectedException => RedisErrorClass.Timeout,
        RedisServerException server => ClassifyReply(server.Message),
        RedisConnectionException or SocketException or ObjectDisposedException or RedisException => RedisErrorClass.Connection,
        InvalidOperationException when IsTornDownPipe(ex) => RedisErrorClass.Connection,
        _ => null,
    };

    /// <summary>
    /// StackExchange.Redis reading from a pipe its connection already completed: a pending command of a connection torn
    /// down under it (seen when Redis was SIGSTOPped and the link reset, docs/reliability.md "Chaos and soak"). The
    /// connection is gone, like any other connection failure.
    /// </summary>
    private static bool IsTornDownPipe(Exception ex) =>
        ex.StackTrace?.Contains("StackExchange.Redis.PhysicalConnection", StringComparison.Ordinal) == true;

    /// <summary>A failure worth retrying and counting towards the breaker: the server or the path to it is away for now.</summary>
    public static bool IsTransient(Exception ex) => Classify(ex) is RedisErrorClass.Connection or RedisErrorClass.Timeout
        or RedisErrorClass.BreakerOpen or RedisErrorClass.Loading or RedisErrorClass.Busy or RedisErrorClass.ReadOnly
        or RedisErrorClass.Failover;

    /// <summary>The server answers but refuses the command until an operator or time fixes it.</summary>
    public static bool IsRefusal(Exception ex) => Classify(ex) is RedisErrorClass.OutOfMemory or RedisErrorClass.Misconfigured
        or RedisErrorClass.NoPermission;

    /// <summary>Anything Redis can throw at a caller: what every background loop must survive.</summary>
    public static bool IsRedisFailure(Exception ex) => Classify(ex) is not null;

    /// <summary>The tag value of <paramref name="errorClass"/> (<c>oom</c>, <c>misconf</c>, ...).</summary>
    public static string Name(this RedisErrorClass errorClass) => errorClass switch
    {
        RedisErrorClass.Connection => "connection",
        RedisErrorClass.Timeout => "timeout",
        RedisErrorClass.BreakerOpen => "breaker-open",
        RedisErrorClass.Loading => "loading",
        RedisErrorClass.Busy => "busy",
        RedisErrorClass.ReadOnly => "readonly",
        RedisErrorClass.Failover => "failover",
        RedisErrorClass.OutOfMemory => "oom",
        RedisErrorClass.Misconfigured => "misconf",
        RedisErrorClass.NoPermission => "noperm",
        _ => "server",
    };

    /// <summary>The class of an error reply by its code, the first word (scripts keep it: "OOM ... script: ...").</summary>
    private static RedisErrorClass ClassifyReply(string message)
    {
        var code = message.AsSpan();
        var space = code.IndexOf(' ');
        code = space < 0 ? code : code[..space];
        return code switch
        {
            "LOADING" => RedisErrorClass.Loading,
            // BUSY alone (a script is running); BUSYGROUP ("consumer group exists") is an answer and falls to Server.
            "BUSY" => RedisErrorClass.Busy,
            "READONLY" => RedisErrorClass.ReadOnly,
            // A cluster slot not served during a failover, or a redirect the client could not follow (a stale slot map).
            "MASTERDOWN" or "TRYAGAIN" or "CLUSTERDOWN" or "MOVED" or "ASK" => RedisErrorClass.Failover,
            "OOM" => RedisErrorClass.OutOfMemory,
            "MISCONF" => RedisErrorClass.Misconfigured,
            "NOPERM" or "NOAUTH" or "WRONGPASS" => RedisErrorClass.NoPermission,
            _ => RedisErrorClass.Server,
        };
    }
}
