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

    public static Settings? Parse(string[] args)
    {
        var quick = args.Contains("--quick");
        int users = quick ? 300 : 2000;
        var duration = quick ? TimeSpan.FromMinutes(2) : TimeSpan.FromMinutes(10);
        var root = Directory.GetCurrentDirectory();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    break;
                case "--users" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var u) && u is >= 10 and <= 20_000:
                    users = u;
                    i++;
                    break;
                case "--duration" when i + 1 < args.Length && TryDuration(args[i + 1], out var d) && d >= TimeSpan.FromSeconds(60) && d <= TimeSpan.FromHours(2):
                    duration = d;
                    i++;
                    break;
                case "--root" when i + 1 < args.Length:
                    root = args[++i];
                    break;
                default:
                    return null;
            }
        }

        return new Settings(users, duration, quick, root);
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
