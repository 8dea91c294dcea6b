namespace Presence.HeartbeatApi.Tests;

/// <summary>The OpenAPI document heartbeat-api serves is the committed docs/api/heartbeat-api.json.</summary>
public sealed class OpenApiDocumentTests(RedisServer redis) : OpenApiDocumentTests<Program>(new HeartbeatApiFactory(redis), "heartbeat-api");
