using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Presence.Deployment.Tests;

/// <summary>What the manifests assume of the running hosts.</summary>
[Collection(HostsCollection.Name)]
public sealed class ServiceHostTests(ServiceHosts hosts)
{
    [Fact]
    public void No_service_configures_its_own_endpoints_so_kestrel_binds_ASPNETCORE_HTTP_PORTS()
    {
        foreach (var service in Repo.Services)
        {
            var configuration = hosts[service].Services.GetRequiredService<IConfiguration>();
            // Kestrel:Endpoints and urls both win over ASPNETCORE_HTTP_PORTS; either would move the port from under the manifests.
            Assert.False(configuration.GetSection("Kestrel:Endpoints").Exists(), $"{service}: Kestrel:Endpoints overrides the container port");
            Assert.True(string.IsNullOrEmpty(configuration["urls"]), $"{service}: urls overrides the container port");
        }
    }

    [Fact]
    public void The_shutdown_timeout_the_manifests_set_reaches_the_host()
    {
        foreach (var service in Repo.Services)
        {
            var seconds = int.Parse(ServiceHosts.ManifestShutdownTimeoutSeconds(service), System.Globalization.CultureInfo.InvariantCulture);
            var options = hosts[service].Services.GetRequiredService<IOptions<HostOptions>>().Value;
            Assert.Equal(TimeSpan.FromSeconds(seconds), options.ShutdownTimeout);
        }
    }
}
