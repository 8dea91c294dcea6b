namespace Presence.Deployment.Tests;

/// <summary>The tests that boot the four services share one redis-server and one host per service.</summary>
[CollectionDefinition(Name)]
public sealed class HostsCollection : ICollectionFixture<ServiceHosts>
{
    public const string Name = "hosts";
}
