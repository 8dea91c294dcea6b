namespace Presence.Core;

/// <summary>
/// The one place that iterates shards (docs/architecture.md, "Shards"): a read of a whole role issues one command
/// group per shard, all before awaiting any, so StackExchange.Redis pipelines them to every node at once (no
/// sequential per-shard round trips); a batch of ids is grouped by shard.
/// </summary>
public static class ShardFanOut
{
    /// <summary>Starts <paramref name="perShard"/> for every shard at once and returns the results in shard order.</summary>
    public static Task<T[]> AllAsync<T, TState>(PresenceKeys keys, Func<int, TState, Task<T>> perShard, TState state)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(perShard);
        var tasks = new Task<T>[keys.Shards];
        for (var shard = 0; shard < tasks.Length; shard++)
        {
            tasks[shard] = perShard(shard, state);
        }

        return Task.WhenAll(tasks);
    }

    /// <summary>Starts <paramref name="perShard"/> for every shard at once.</summary>
    public static Task<T[]> AllAsync<T>(PresenceKeys keys, Func<int, Task<T>> perShard) =>
        AllAsync(keys, static (shard, f) => f(shard), perShard);

    /// <summary>The positions of <paramref name="ids"/> grouped by the shard of each id, shards in ascending order.</summary>
    public static IReadOnlyList<(int Shard, int[] Positions)> GroupByShard(PresenceKeys keys, IReadOnlyList<string> ids)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(ids);
        var groups = new List<int>?[keys.Shards];
        for (var i = 0; i < ids.Count; i++)
        {
            (groups[keys.ShardOf(ids[i])] ??= []).Add(i);
        }

        var result = new List<(int, int[])>();
        for (var shard = 0; shard < groups.Length; shard++)
        {
            if (groups[shard] is { } positions)
            {
                result.Add((shard, [.. positions]));
            }
        }

        return result;
    }
}
