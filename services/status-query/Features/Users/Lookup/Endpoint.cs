using FastEndpoints;
using Microsoft.Extensions.Options;
using Presence.Core;

namespace Presence.StatusQuery.Features.Users.Lookup;

/// <summary><c>GET /v1/presence/{role}/{id}</c>: one user's status. An unknown user is offline, never a 404.</summary>
public sealed class LookupEndpoint(PresenceReader reader, IOptionsMonitor<StatusQueryOptions> options)
    : Endpoint<LookupRequest, LookupResponse>
{
    public override void Configure()
    {
        Get("/v1/presence/{role}/{id}");
        // Therapists are public; the community branch checks the token itself (see Privacy).
        AllowAnonymous();
        Description(b => b.ProducesProblemDetails(400).ProducesProblemDetails(401).ProducesProblemDetails(403).ProducesProblemDetails(503));
        Summary(s => s.Summary = "One user's status. Therapists: anyone. Community users: that user or a therapist.");
    }

    public override async Task HandleAsync(LookupRequest req, CancellationToken ct)
    {
        global::Presence.Core.Roles.TryParse(req.Role, out var parsed);
        var role = parsed!.Value;
        switch (Privacy.Of(User, role, req.Id))
        {
            case Visibility.NeedsToken:
                HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                await Send.ResultAsync(TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                    detail: "A community user's status needs a bearer token of that user or of a therapist."));
                return;
            case Visibility.Forbidden:
                await Send.ResultAsync(TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                    detail: "A community user's status is visible only to that user and to therapists."));
                return;
        }

        var entry = await reader.GetAsync(role, req.Id, ct);
        HttpContext.Response.Headers.CacheControl = role == PresenceRole.Therapist
            ? options.CurrentValue.PublicCacheControl
            : "private, no-store";
        await Send.OkAsync(new LookupResponse(role, entry), ct);
    }
}
