using Presence.Benchmarks;

// ./dev.sh bench [--quick] runs `run`; the orchestrator starts this same program in `baselines` mode.
switch (args.FirstOrDefault())
{
    case "baselines":
        await Baselines.RunAsync(args[1..]);
        break;
    case "run":
        return await Orchestrator.RunAsync(quick: args.Contains("--quick"));
    default:
        Console.Error.WriteLine("usage: Presence.Benchmarks run [--quick] | baselines [--urls URL]");
        return 2;
}

return 0;
