using Presence.Benchmarks;

// ./dev.sh bench [--quick] runs `run`; the orchestrator starts this same program in `baselines` mode.
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
            foreach (var tracked in new[] { 10_000, 100_000 })
            {
                Console.WriteLine($"board rebuild, {tracked} therapists online: {await store.BoardRebuildMsAsync(tracked):F1} ms");
            }
        }

        break;
    case "intervals":
        // The adaptive heartbeat interval against the constant one, simulated (docs/benchmarks.md).
        IntervalSimulation.Run();
        break;
    case "run":
        return await Orchestrator.RunAsync(quick: args.Contains("--quick"));
    default:
        Console.Error.WriteLine("usage: Presence.Benchmarks run [--quick] | rebuild | intervals | baselines [--urls URL]");
        return 2;
}

return 0;
