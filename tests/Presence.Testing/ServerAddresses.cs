using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Presence.Testing;

/// <summary>Where a started host's server listens (Kestrel on port 0 picks a free port of its own).</summary>
public static class ServerAddresses
{
    /// <summary>The first address the started server listens on, without a trailing slash.</summary>
    public static string ServerAddress(this IServiceProvider services) =>
        services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
}
