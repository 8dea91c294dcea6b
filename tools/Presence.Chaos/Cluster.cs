using Presence.Testing;

namespace Presence.Chaos;

/// <summary>
/// The processes of the run (redis-server, heartbeat-api, two gateways, two janitors), each a
/// <see cref="ServiceProcess"/> on a free loopback port, killed, paused and restarted by the fault schedule, and
/// every one of them killed when the run ends.
/// </summary>
internal sealed class Cluster : IAsyncDisposable
{
    private readonly List<ServiceProcess> _all = [];
    private readonly Lock _gate = new();

    /// <summary>Starts the service (again, after a kill) and remembers it for <see cref="KillAll"/>.</summary>
    public void Start(ServiceProcess service)
    {
        lock (_gate)
        {
            if (!_all.Contains(service))
            {
                _all.Add(service);
            }
        }

        service.Start();
    }

    /// <summary>Kills every process the run started, SIGCONT first so a paused one dies too.</summary>
    public void KillAll()
    {
        ServiceProcess[] all;
        lock (_gate)
        {
            all = [.. _all];
        }

        foreach (var service in all)
        {
            service.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    public ValueTask DisposeAsync()
    {
        KillAll();
        return ValueTask.CompletedTask;
    }
}
