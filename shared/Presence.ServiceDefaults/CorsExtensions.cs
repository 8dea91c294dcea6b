using Microsoft.AspNetCore.Cors.Infrastructure;

namespace Presence.ServiceDefaults;

/// <summary>
/// Which browser origins may call a service: one setting for every service (docs/architecture.md, "Browsers and
/// CORS"). <c>Cors:AllowedOrigins</c> lists them; <c>FRONTEND_URL</c>, the one value a deployment sets, is added.
/// </summary>
public static class CorsExtensions
{
    public const string AllowedOriginsSection = "Cors:AllowedOrigins";
    public const string FrontendUrlKey = "FRONTEND_URL";

    /// <summary>How long a browser may reuse a preflight answer: one preflight per endpoint per 10 minutes.</summary>
    public static readonly TimeSpan PreflightMaxAge = TimeSpan.FromMinutes(10);

    /// <summary>The allowed origins: <c>Cors:AllowedOrigins</c> plus <c>FRONTEND_URL</c>, without trailing slashes, once each.</summary>
    public static string[] FrontendOrigins(this IConfiguration configuration)
    {
        var origins = configuration.GetSection(AllowedOriginsSection).Get<string[]>() ?? [];
        return [.. origins.Append(configuration[FrontendUrlKey])
            .Where(o => !string.IsNullOrWhiteSpace(o))
            .Select(o => o!.Trim().TrimEnd('/'))
            .Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>
    /// A CORS policy for the frontend origins (the default policy when <paramref name="policyName"/> is null), with
    /// preflight caching; <paramref name="configure"/> adds the service's methods and headers.
    /// </summary>
    public static IServiceCollection AddFrontendCors(this IServiceCollection services, IConfiguration configuration,
        string? policyName, Action<CorsPolicyBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var origins = configuration.FrontendOrigins();
        return services.AddCors(cors =>
        {
            void Build(CorsPolicyBuilder policy)
            {
                policy.WithOrigins(origins).SetPreflightMaxAge(PreflightMaxAge);
                configure(policy);
            }

            if (policyName is null)
            {
                cors.AddDefaultPolicy(Build);
            }
            else
            {
                cors.AddPolicy(policyName, Build);
            }
        });
    }
}
