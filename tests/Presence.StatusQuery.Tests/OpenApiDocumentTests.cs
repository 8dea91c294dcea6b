namespace Presence.StatusQuery.Tests;

/// <summary>The OpenAPI document status-query serves is the committed docs/api/status-query.json.</summary>
public sealed class OpenApiDocumentTests(RedisServer redis) : OpenApiDocumentTests<Program>(new StatusQueryApp(redis), "status-query");
