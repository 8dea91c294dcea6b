namespace Presence.StatusQuery.Tests;

/// <summary>The OpenAPI document status-query serves is the committed docs/api/status-query.json.</summary>
public sealed class OpenApiDocumentTests(RedisServer redis) : HostTests<StatusQueryApp>(new(redis))
{
    [Fact]
    public async Task The_served_openapi_document_is_the_committed_one_in_docs_api()
    {
        using var client = App.CreateClient(token: null);

        await OpenApiDocuments.AssertServedIsCommittedAsync(client, "status-query", TestContext.Current.CancellationToken);
    }
}
