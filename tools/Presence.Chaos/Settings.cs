using System.CommandLine;
using System.Globalization;

namespace Presence.Chaos;

/// <summary>The run's size and the short windows the services get, so transitions happen within the run.</summary>
internal sealed record Settings(int Users, TimeSpan Duration, bool Quick, string Root)
{
    public TimeSpan OnlineWindow { get; } = TimeSpan.FromSeconds(20);

    public TimeSpan HeartbeatInterval { get; } = TimeSpan.FromSeconds(5);

    public TimeSpan StaleConnection { get; } = TimeSpan.FromSeconds(15);

    public TimeSpan LeaveGrace { get; } = TimeSpan.FromSeconds(3);

    public TimeSpan InstanceLease { get; } = TimeSpan.FromSeconds(9);

    public TimeSpan JanitorLease { get; } = TimeSpan.FromSeconds(6);

    /// <summary>How long Redis stays SIGSTOPped, and how long it refuses writes (maxmemory + noeviction).</summary>
    public TimeSpan RedisFault => Quick ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(20);

    /// <summary>How long a gateway stays SIGSTOPped: shorter than its lease, so its users must see no transition.</summary>
    public TimeSpan GatewayPause => TimeSpan.FromSeconds(5);

    public static string Span(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses the command line (System.CommandLine); on <c>--help</c> or a bad argument it prints the help or the
    /// error and returns no settings, with the exit code: 0 for help, 2 for a bad argument.
    /// </summary>
    public static (Settings? Settings, int Exit) Parse(string[] args)
    {
        var quick = new Option<bool>("--quick") { Description = "a short run: 300 users, 2 minutes, shorter Redis faults" };
        var users = new Option<int?>("--users") { Description = "simulated users, 10 to 20000 (default 2000, quick 300)" };
        users.Validators.Add(result =>
        {
            if (result.GetValue(users) is < 10 or > 20_000)
            {
                result.AddError("--users must be 10 to 20000");
            }
        });
        var duration = new Option<TimeSpan?>("--duration")
        {
            Description = "SECONDS or Nm, 60 s to 2 h (default 10m, quick 2m)",
            CustomParser = result =>
            {
                if (TryDuration(result.Tokens.Single().Value, out var value) && value >= TimeSpan.FromSeconds(60) && value <= TimeSpan.FromHours(2))
                {
                    return value;
                }

                result.AddError("--duration must be SECONDS or Nm, from 60 s to 2 h");
                return null;
            },
        };
        var root = new Option<string>("--root") { Description = "the repository (default: the current directory)", DefaultValueFactory = _ => Directory.GetCurrentDirectory() };

        Settings? settings = null;
        var command = new RootCommand("The chaos and soak run (docs/reliability.md, \"Chaos and soak\").") { quick, users, duration, root };
        command.SetAction(parsed =>
        {
            var isQuick = parsed.GetValue(quick);
            settings = new Settings(
                parsed.GetValue(users) ?? (isQuick ? 300 : 2000),
                parsed.GetValue(duration) ?? (isQuick ? TimeSpan.FromMinutes(2) : TimeSpan.FromMinutes(10)),
                isQuick,
                parsed.GetValue(root)!);
        });
        var exit = command.Parse(args).Invoke();
        return (settings, settings is null && exit != 0 ? 2 : exit);
    }

    private static bool TryDuration(string text, out TimeSpan value)
    {
        value = default;
        if (text.EndsWith('m') && int.TryParse(text[..^1], CultureInfo.InvariantCulture, out var minutes))
        {
            value = TimeSpan.FromMinutes(minutes);
            return true;
        }

        if (int.TryParse(text.TrimEnd('s'), CultureInfo.InvariantCulture, out var seconds))
        {
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        return false;
    }
}
