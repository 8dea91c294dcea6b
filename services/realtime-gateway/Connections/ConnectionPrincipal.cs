using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Presence.ServiceDefaults;

namespace Presence.RealtimeGateway.Connections;

/// <summary>
/// A hub connection keeps its HTTP request for as long as it stays open, and with it the authentication result the JWT
/// handler cached for the request. The handler's principal carries every claim of the token and the parsed token itself
/// (about 4 KB a connection, measured in docs/benchmarks.md); the hub reads only the subject and the role. For requests
/// to the hub, the validated principal is swapped for one of those claims, and the token is not saved into the ticket;
/// the ticket keeps the token's expiry, which SignalR uses to close the connection when the token lapses.
/// </summary>
internal static class ConnectionPrincipal
{
    private static readonly string[] KeptClaims = [PresenceClaims.Subject, PresenceClaims.Role];

    public static void AddCompactHubPrincipal(this IServiceCollection services) =>
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).PostConfigure<IOptions<GatewayOptions>>((jwt, gateway) =>
        {
            var hubPath = gateway.Value.HubPath;
            var validated = jwt.Events.OnTokenValidated;
            jwt.Events.OnTokenValidated = async context =>
            {
                await validated(context).ConfigureAwait(false);
                if (context.Result is null && context.Principal is { } principal
                    && context.Request.Path.StartsWithSegments(hubPath, StringComparison.Ordinal))
                {
                    context.Principal = Compact(principal);
                    context.Success();
                }
            };
        });

    public static ClaimsPrincipal Compact(ClaimsPrincipal user)
    {
        var compact = new ClaimsIdentity(user.Identity?.AuthenticationType, PresenceClaims.Subject, PresenceClaims.Role);
        foreach (var type in KeptClaims)
        {
            foreach (var claim in user.FindAll(type))
            {
                compact.AddClaim(new Claim(type, claim.Value));
            }
        }

        return new ClaimsPrincipal(compact);
    }
}
