using Microsoft.Extensions.Options;
using Presence.Core;
using StackExchange.Redis;

namespace Presence.Janitor.Expiry;

/// <summary>
/// Checks that the server publishes expired-key events (<c>notify-keyspace-events</c> holds <c>E</c> and <c>x</c>,
/// or <c>A</c> which includes <c>x</c>). When it does not, logs the exact setting to add, and sets it only when
/// <c>Janitor:ConfigureKeyspaceEvents</c> is true. Without them retention still holds: the hashes expire by
/// their TTL anyway, and the sweep's retention trim removes last-seen entries by score.
/// </summary>
internal sealed partial class KeyspaceEventsSetting(
    ServerConfig config, IOptionsMonitor<JanitorOptions> options, ILogger<KeyspaceEventsSetting> logger)
{
    public const string Parameter = "notify-keyspace-events";

    /// <summary>
    /// True when expired events are published (after setting them, if allowed) by every primary; false when one
    /// does not or refuses CONFIG. Throws <see cref="RedisUnavailableException"/> while Redis is unreachable.
    /// On a cluster the setting is per node (and CONFIG SET is not replicated), so each connected primary is asked
    /// on its own connection.
    /// </summary>
    public async Task<bool> EnsureAsync(CancellationToken ct)
    {
        var all = true;
        foreach (var primary in config.Primaries())
        {
            all &= await EnsureOnAsync(primary, ct).ConfigureAwait(false);
        }

        return all;
    }

    private async Task<bool> EnsureOnAsync(ServerConfigTarget primary, CancellationToken ct)
    {
        string current;
        try
        {
            current = await config.GetAsync(primary, Parameter, ct).ConfigureAwait(false);
        }
        // Managed Redis renames CONFIG away (an ERR reply) or denies it to the ACL user (NOPERM, a refusal).
        catch (Exception ex) when (ex is RedisServerException || ex is RedisUnavailableException { Class: RedisErrorClass.NoPermission })
        {
            LogConfigRefused(logger, (ex.InnerException ?? ex).Message, Parameter, "Ex");
            return false;
        }

        if (PublishesExpired(current))
        {
            return true;
        }

        var wanted = WithExpired(current);
        if (!options.CurrentValue.ConfigureKeyspaceEvents)
        {
            LogMissing(logger, Parameter, current, wanted);
            return false;
        }

        try
        {
            await config.SetAsync(primary, Parameter, wanted, ct).ConfigureAwait(false);
            LogConfigured(logger, Parameter, current, wanted);
            return true;
        }
        // Managed Redis renames CONFIG away (an ERR reply) or denies it to the ACL user (NOPERM, a refusal).
        catch (Exception ex) when (ex is RedisServerException || ex is RedisUnavailableException { Class: RedisErrorClass.NoPermission })
        {
            LogConfigRefused(logger, (ex.InnerException ?? ex).Message, Parameter, wanted);
            return false;
        }
    }

    /// <summary>Keyevent notifications (E) of expired keys (x, or A which includes it).</summary>
    public static bool PublishesExpired(string flags) =>
        flags.Contains('E', StringComparison.Ordinal) && (flags.Contains('x', StringComparison.Ordinal) || flags.Contains('A', StringComparison.Ordinal));

    /// <summary>The current flags plus what expired keyevents need, keeping whatever else others asked for.</summary>
    public static string WithExpired(string flags)
    {
        var wanted = flags;
        if (!wanted.Contains('E', StringComparison.Ordinal))
        {
            wanted += "E";
        }

        if (!wanted.Contains('x', StringComparison.Ordinal) && !wanted.Contains('A', StringComparison.Ordinal))
        {
            wanted += "x";
        }

        return wanted;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis does not publish expired-key events ({Parameter} is '{Current}'): user hashes that expire are only forgotten by the retention trim. Add them in redis.conf or with: CONFIG SET {Parameter} {Wanted} (or set Janitor:ConfigureKeyspaceEvents=true to let the janitor do it).")]
    private static partial void LogMissing(ILogger logger, string parameter, string current, string wanted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Set {Parameter} from '{Current}' to '{Wanted}' (Janitor:ConfigureKeyspaceEvents).")]
    private static partial void LogConfigured(ILogger logger, string parameter, string current, string wanted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis refused CONFIG ({Error}); make sure the server's {Parameter} includes '{Wanted}' (managed Redis: its parameter group or settings page).")]
    private static partial void LogConfigRefused(ILogger logger, string error, string parameter, string wanted);
}
