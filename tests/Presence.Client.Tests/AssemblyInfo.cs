using Presence.Testing;

[assembly: AssemblyFixture(typeof(RedisServer))]
