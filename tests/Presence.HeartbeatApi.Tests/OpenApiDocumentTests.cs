namespace Presence.HeartbeatApi.Tests;

/// <summary>The OpenAPI document heartbeat-api serves is the committed docs/api/heartbeat-api.json.</summary>
public sealed class OpenApiDocumentTests(RedisServer redis) : HostTests<HeartbeatApiFactory>(new(redis))
{
    [Fact]
    public async Task The_served_openapi_document_is_the_committed_one_in_docs_api()
    {
        using var client = App.CreateClient(token: null);

        await OpenApiDocuments.AssertServedIsCommittedAsync(client, "heartbeat-api", TestContext.Current.CancellationToken);
    }
}
