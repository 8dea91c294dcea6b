using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Presence.Core;
using Presence.ServiceDefaults.Authentication;

namespace Presence.ServiceDefaults;

/// <summary>JWT bearer authentication as every Presence service validates it (docs/architecture.md, "Authentication").</summary>
public static class AuthenticationExtensions
{
    private const string BearerPrefix = "Bearer ";

    /// <summary>JWT bearer exactly as the services validate it (also used by the benchmark baselines, so they pay the same).</summary>
    public static void AddPresenceAuthentication(this IServiceCollection services)
    {
        services.AddValidatedOptions<PresenceAuthOptions, PresenceAuthOptionsValidator>(PresenceAuthOptions.Section);
        services.AddOptions<TokenCacheOptions>().BindConfiguration(TokenCacheOptions.Section)
            .Validate(o => o.Capacity >= 0, "Auth:TokenCache:Capacity must be 0 (off) or more.")
            .Validate(o => o.MaxAge > TimeSpan.Zero, "Auth:TokenCache:MaxAge must be positive.")
            .ValidateOnStart();
        // The real clock: token lifetimes are checked against it by the full validation too, whatever presence time
        // (the TimeProvider in the container, which tests move) says.
        services.TryAddSingleton(sp => new ValidatedTokenCache(
            sp.GetRequiredService<IOptions<TokenCacheOptions>>().Value, TimeProvider.System, sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<PresenceAuthOptions>, ValidatedTokenCache>((jwt, auth, cache) => ConfigureJwt(jwt, auth.Value, cache));
        services.AddAuthorization();
    }

    private static void ConfigureJwt(JwtBearerOptions jwt, PresenceAuthOptions auth, ValidatedTokenCache cache)
    {
        // Claims arrive as issued (sub, role): no mapping to the long WS-* claim types.
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = auth.Issuer,
            ValidateAudience = true,
            ValidAudience = auth.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = auth.ClockSkew,
            NameClaimType = PresenceClaims.Subject,
            RoleClaimType = PresenceClaims.Role,
        };
        if (!string.IsNullOrEmpty(auth.Authority))
        {
            jwt.Authority = auth.Authority;
            jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.RsaSsaPssSha256];
        }
        else
        {
            jwt.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(auth.EffectiveSigningKey));
            jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
        }

        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = ctx =>
            {
                // Browsers cannot set headers on WebSockets or EventSource: the hub takes the token from the query.
                if (ctx.Request.Path.StartsWithSegments(HubPaths.Prefix, StringComparison.Ordinal)
                    && ctx.Request.Query["access_token"] is { Count: > 0 } query)
                {
                    ctx.Token = query.ToString();
                }

                // A token validated before and still within its lifetime: its claims, without parsing it again.
                var token = ctx.Token is { } fromQuery ? fromQuery.AsSpan() : BearerToken(ctx.Request.Headers.Authorization.ToString());
                if (!token.IsEmpty && cache.TryGet(token, out var cached))
                {
                    ctx.Principal = new ClaimsPrincipal(cached.Identity);
                    ctx.Properties.IssuedUtc = cached.IssuedUtc;
                    ctx.Properties.ExpiresUtc = cached.ExpiresUtc;
                    ctx.Success();
                }

                return Task.CompletedTask;
            },
            OnTokenValidated = ctx =>
            {
                if (ctx.SecurityToken is JsonWebToken validated && ctx.Principal?.Identity is ClaimsIdentity identity
                    && ctx.Properties.ExpiresUtc is { } expires)
                {
                    cache.Add(validated.EncodedToken, identity, ctx.Properties.IssuedUtc, expires);
                }

                return Task.CompletedTask;
            },
            OnChallenge = async ctx =>
            {
                ctx.HandleResponse();
                ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
                ctx.Response.Headers.WWWAuthenticate = "Bearer";
                var detail = ctx.AuthenticateFailure is null
                    ? "A bearer token is required."
                    : "The bearer token is invalid, expired or not for this service.";
                await ProblemDetailsExtensions.WriteProblemAsync(ctx.HttpContext, StatusCodes.Status401Unauthorized, "Unauthorized", detail).ConfigureAwait(false);
            },
            OnForbidden = ctx => ProblemDetailsExtensions.WriteProblemAsync(ctx.HttpContext, StatusCodes.Status403Forbidden, "Forbidden",
                "This token's role may not use this endpoint."),
        };
    }

    /// <summary>The token of an <c>Authorization: Bearer</c> header, as the JWT bearer handler reads it; empty if none.</summary>
    private static ReadOnlySpan<char> BearerToken(string? authorization) =>
        authorization is not null && authorization.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
            ? authorization.AsSpan(BearerPrefix.Length).Trim()
            : [];
}
