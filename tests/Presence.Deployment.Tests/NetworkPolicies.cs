using System.Text.Json.Nodes;

namespace Presence.Deployment.Tests;

/// <summary>A pod (in or outside the rendered namespace) or an address outside the cluster, with the ports it listens on.</summary>
public sealed record Peer(string Name, string? Namespace, JsonObject Labels, IPAddress Ip, IReadOnlyList<(string? PortName, long Port, string Protocol)> Listens)
{
    public static JsonObject NamespaceLabels(string ns) => new() { ["kubernetes.io/metadata.name"] = ns };

    public static Peer Pod(string name, string ns, JsonObject labels, string ip, params (string? Name, long Port, string Protocol)[] listens) =>
        new(name, ns, labels, IPAddress.Parse(ip), listens);

    public static Peer External(string name, string ip, params long[] ports) =>
        new(name, null, [], IPAddress.Parse(ip), [.. ports.Select(p => ((string?)null, p, "TCP"))]);

    public static Peer Workload(JsonObject workload, string ns, string ip) => new(
        Rendered.Name(workload), ns, workload.PodLabels(), IPAddress.Parse(ip),
        [.. workload.Containers().SelectMany(c => c["ports"]?.AsArray() ?? [])
            .Select(p => ((string?)p!["name"], (long)p["containerPort"]!, (string?)p["protocol"] ?? "TCP"))]);
}

/// <summary>
/// Evaluates the rendered NetworkPolicies of one namespace the way the NetworkPolicy API defines them: a pod
/// that some policy selects for a direction allows only what one of those policies' rules allows; a pod no
/// policy selects allows everything. A connection needs the source's egress and the destination's ingress.
/// Peers outside the namespace are not subject to these policies.
/// </summary>
public sealed class NetworkPolicies(Rendered rendered, string ns)
{
    private readonly List<JsonObject> _policies = [.. rendered.OfKind("NetworkPolicy")];

    public bool Allows(Peer from, Peer to, long port, string protocol) =>
        Direction(from, "Egress", "egress", "to", to, port, protocol) && Direction(to, "Ingress", "ingress", "from", from, port, protocol);

    /// <summary>Every allowed connection between the peers (to each port a destination listens on), as "a -> b:port/proto".</summary>
    public SortedSet<string> Matrix(IReadOnlyList<Peer> peers)
    {
        var allowed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var from in peers)
        {
            foreach (var to in peers.Where(p => p != from && (p.Namespace == ns || from.Namespace == ns)))
            {
                foreach (var (_, port, protocol) in to.Listens)
                {
                    if (Allows(from, to, port, protocol))
                    {
                        allowed.Add($"{from.Name} -> {to.Name}:{port}/{protocol}");
                    }
                }
            }
        }

        return allowed;
    }

    private bool Direction(Peer subject, string type, string rulesKey, string peersKey, Peer other, long port, string protocol)
    {
        if (subject.Namespace != ns)
        {
            return true;
        }

        var selecting = _policies.Where(p =>
            p["spec"]!["policyTypes"]!.AsArray().Any(t => (string?)t == type) && p["spec"]!["podSelector"]!.Selects(subject.Labels)).ToList();
        if (selecting.Count == 0)
        {
            return true;
        }

        // Ports are those of the destination: the subject for ingress, the other peer for egress.
        var destination = type == "Ingress" ? subject : other;
        return selecting.SelectMany(p => p["spec"]![rulesKey]?.AsArray() ?? []).Any(rule =>
            PeerMatches(rule![peersKey]?.AsArray(), other) && PortMatches(rule["ports"]?.AsArray(), destination, port, protocol));
    }

    private bool PeerMatches(JsonArray? peers, Peer other)
    {
        if (peers is null || peers.Count == 0)
        {
            return true;
        }

        return peers.Any(peer =>
        {
            if (peer!["ipBlock"] is { } block)
            {
                return InCidr(other.Ip, (string)block["cidr"]!) && !(block["except"]?.AsArray() ?? []).Any(e => InCidr(other.Ip, (string)e!));
            }

            if (other.Namespace is null)
            {
                return false;
            }

            var namespaceOk = peer["namespaceSelector"] is { } nsSelector
                ? nsSelector.Selects(Peer.NamespaceLabels(other.Namespace))
                : other.Namespace == ns;
            var podOk = peer["podSelector"] is not { } podSelector || podSelector.Selects(other.Labels);
            return namespaceOk && podOk;
        });
    }

    private static bool PortMatches(JsonArray? ports, Peer destination, long port, string protocol)
    {
        if (ports is null || ports.Count == 0)
        {
            return true;
        }

        return ports.Any(p =>
        {
            if (((string?)p!["protocol"] ?? "TCP") != protocol)
            {
                return false;
            }

            var declared = p["port"];
            if (declared is null)
            {
                return true;
            }

            return declared.GetValueKind() == System.Text.Json.JsonValueKind.Number
                ? (long)declared == port
                : destination.Listens.Any(l => l.PortName == (string)declared! && l.Port == port);
        });
    }

    private static bool InCidr(IPAddress ip, string cidr)
    {
        var network = IPNetwork.Parse(cidr);
        return ip.AddressFamily == network.BaseAddress.AddressFamily && network.Contains(ip);
    }
}
