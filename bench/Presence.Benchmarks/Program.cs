using Presence.Benchmarks;

// ./dev.sh bench [--quick] runs `all`, which runs `run` and `cluster` as child processes; the orchestrator starts
// this same program in `baselines` mode.
switch (args.FirstOrDefault())
{
    case "baselines":
        await Baselines.RunAsync(args[1..]);
        break;
    case "rebuild":
        // Only the board rebuild figures, for profiling the reader without the HTTP part.
        await using (var redis = new Presence.Testing.RedisServer())
        {
            await redis.InitializeAsync();
            var store = new StoreClient(redis);
            // rebuild [N ...]: the board sizes to time (default 10k and 100k); Presence__Shards from the environment.
            var sizes = args.Length > 1 ? args[1..].Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray() : [10_000, 100_000];
            foreach (var tracked in sizes)
            {
                var rebuild = await store.BoardRebuildAsync(tracked);
                Console.WriteLine(System.FormattableString.Invariant(
                    $"board rebuild, {tracked} therapists online: {rebuild.MedianMs:F1} ms (CPU per read: reader {rebuild.ClientCpuMs:F1} ms, Redis {rebuild.RedisCpuMs:F1} ms; allocated per read {rebuild.AllocatedBytes / 1024:F0} KiB; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]})"));
                Console.WriteLine("  Redis per read: " + rebuild.RedisCommands);
            }
        }

        break;
    case "cluster":
        // The sharded keyspace on 1 primary vs 3 (docs/benchmarks.md, "Sharding: 1 primary vs 3").
        return await ClusterBench.RunAsync(quick: args.Contains("--quick"));
    case "intervals":
        // The adaptive heartbeat interval against the constant one, simulated (docs/benchmarks.md).
        IntervalSimulation.Run();
        break;
    case "heartbeat-cost":
        // Redis CPU of the heartbeat script against a plain ZADD, and client allocations per store heartbeat.
        await using (var redis = new Presence.Testing.RedisServer())
        {
            await redis.InitializeAsync();
            var store = new StoreClient(redis, new Dictionary<string, string?> { ["Presence:MinHeartbeatInterval"] = "00:00:00.010" });
            var cost = await store.HeartbeatCostAsync(users: 20_000, rounds: 5);
            Console.WriteLine(System.FormattableString.Invariant(
                $"heartbeat scripts {cost.ScriptUsec:F2} us per heartbeat, plain ZADD {cost.ZaddUsec:F2} us/call: {cost.ScriptUsec / cost.ZaddUsec:F1}x; {cost.AllocatedBytes:F0} B allocated per store heartbeat ({cost.Accepted} accepted)"));
        }

        break;
    case "rest":
        // Only the REST heartbeat's goal rows: allocations per heartbeat and req/s against the naive one.
        return await Orchestrator.RestAsync(quick: args.Contains("--quick"));
    case "all":
        // Every part in order and the one goal table (./dev.sh bench); --skip 1|1b|2|3 (repeatable) leaves a part out.
        return await AllParts.RunAsync(quick: args.Contains("--quick"),
            skip: [.. args.Zip(args.Skip(1)).Where(p => p.First == "--skip").Select(p => p.Second + "/3")]);
    case "board":
        // Only the board poll row: status-query's board against (d) fixed bytes of the board's size.
        return await Orchestrator.BoardAsync(quick: args.Contains("--quick"));
    case "run":
        return await Orchestrator.RunAsync(quick: args.Contains("--quick"));
    default:
        Console.Error.WriteLine("usage: Presence.Benchmarks all [--quick] [--skip 1|1b|2|3] | run [--quick] | rest [--quick] | board [--quick] | cluster [--quick] | rebuild | intervals | heartbeat-cost | baselines [--urls URL]");
        return 2;
}

return 0;
