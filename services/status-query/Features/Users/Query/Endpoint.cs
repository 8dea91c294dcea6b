using FastEndpoints;
using Presence.Core;

namespace Presence.StatusQuery.Features.Users.Query;

/// <summary><c>POST /v1/presence/query</c>: many users' statuses in one pipelined Redis round trip (therapists only).</summary>
public sealed class QueryEndpoint(PresenceReader reader, TimeProvider time) : Endpoint<QueryRequest, QueryResponse>
{
    public override void Configure()
    {
        Post("/v1/presence/query");
        Roles(PresenceRole.Therapist.Name());
        Description(b => b.ProducesProblemDetails(400).ProducesProblemDetails(401).ProducesProblemDetails(403)
            .ProducesProblemDetails(413).ProducesProblemDetails(503));
        Summary(s => s.Summary = $"Statuses of up to {QueryRequest.MaxIds} users of one role, for a therapist.");
    }

    public override async Task HandleAsync(QueryRequest req, CancellationToken ct)
    {
        global::Presence.Core.Roles.TryParse(req.Role, out var parsed);
        var role = parsed!.Value;
        var ids = req.Ids!.Distinct().ToArray();
        var generatedAt = time.GetUtcNow();
        var entries = await reader.GetManyAsync(role, ids, ct);
        HttpContext.Response.Headers.CacheControl = "private, no-store";
        await Send.OkAsync(new QueryResponse
        {
            Role = role.Name(),
            GeneratedAt = generatedAt,
            Users = [.. entries.Select(PresenceView.From)],
        }, ct);
    }
}
