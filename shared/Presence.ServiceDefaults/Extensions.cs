using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Presence.Core;
using StackExchange.Redis;

namespace Presence.ServiceDefaults;

/// <summary>What every Presence host calls once: telemetry, Redis, health, resilience, auth, problem details.</summary>
public static class Extensions
{
    public const string LiveTag = "live";
    public const string ReadyTag = "ready";
    public const string HealthLivePath = "/health/live";
    public const string HealthReadyPath = "/health/ready";
    public const string WritesRateLimitPolicy = "writes";
    public const string RedisHealthCheckName = "redis";
    public const string DrainingHealthCheckName = "draining";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.Services.AddPresenceCore(builder.Configuration);
        builder.Services.AddRedis();
        // Liveness never depends on Redis: restarting a pod cannot fix a Redis outage. Readiness fits the failure
        // (docs/operations.md, "Readiness"): with Redis down every endpoint still answers correctly, a fast 503
        // problem with Retry-After or a stale board, so Redis down is Degraded (HTTP 200, still ready). Taking every
        // pod out of its Service would only swap those answers for the ingress's own 503 page and block node drains.
        // A pod that is shutting down is not ready.
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag])
            .AddCheck<RedisHealthCheck>(RedisHealthCheckName, failureStatus: HealthStatus.Degraded, tags: [ReadyTag])
            .AddCheck<DrainingHealthCheck>(DrainingHealthCheckName, tags: [ReadyTag]);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<PresenceExceptionHandler>();
        builder.Services.AddPresenceAuthentication();
        builder.Services.AddWriteRateLimiting();
        builder.Services.AddOptions<HttpLimitsOptions>().Bind(builder.Configuration.GetSection(HttpLimitsOptions.Section));
        return builder;
    }

    /// <summary>The request pipeline every service shares, in order: errors as problem details, body limit, auth, rate limits.</summary>
    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthLivePath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) }).AllowAnonymous();
        app.MapHealthChecks(HealthReadyPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag) }).AllowAnonymous();
        if (app.Configuration.GetValue<bool>("Telemetry:Prometheus"))
        {
            app.MapPrometheusScrapingEndpoint().AllowAnonymous();
        }

        return app;
    }

    private static void ConfigureOpenTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var prometheus = builder.Configuration.GetValue<bool>("Telemetry:Prometheus");
        var redisTracing = builder.Configuration.GetValue("Telemetry:RedisCommandSpans", true);
        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddMeter(PresenceMetrics.MeterName);
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(builder.Environment.ApplicationName, "Presence.*")
                    .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
                    .AddHttpClientInstrumentation();
                if (redisTracing)
                {
                    tracing.AddRedisInstrumentation();
                }
            });

        // OTLP only when the standard variable says where to; the exporter reads the other OTEL_* variables itself.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }
    }

    private static void AddRedis(this IServiceCollection services)
    {
        services.TryAddSingleton<IConnectionMultiplexer>(sp =>
        {
            var configuration = sp.GetRequiredService<IConfiguration>();
            var connectionString = configuration.GetConnectionString("redis")
                ?? throw new InvalidOperationException("ConnectionStrings:redis is not set.");
            var options = ConfigurationOptions.Parse(connectionString);
            // Start and stay up while Redis is down; commands then fail at once instead of queueing.
            options.AbortOnConnectFail = false;
            options.BacklogPolicy = BacklogPolicy.FailFast;
            options.ConnectTimeout = Math.Min(options.ConnectTimeout, 2000);
            // Reconnect attempts every half second, not backing off to 10 s: Redis back from an outage is used at once.
            options.ReconnectRetryPolicy = new LinearRetry(500);
            options.AsyncTimeout = Math.Min(options.AsyncTimeout, 2000);
            options.SyncTimeout = Math.Min(options.SyncTimeout, 2000);
            options.ClientName ??= sp.GetRequiredService<IHostEnvironment>().ApplicationName;
            return ConnectionMultiplexer.Connect(options);
        });
    }

    /// <summary>JWT bearer exactly as the services validate it (also used by the benchmark baselines, so they pay the same).</summary>
    public static void AddPresenceAuthentication(this IServiceCollection services)
    {
        services.AddOptions<PresenceAuthOptions>().BindConfiguration(PresenceAuthOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PresenceAuthOptions>, PresenceAuthOptionsValidator>());
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<PresenceAuthOptions>>((jwt, auth) => ConfigureJwt(jwt, auth.Value));
        services.AddAuthorization();
    }

    private static void ConfigureJwt(JwtBearerOptions jwt, PresenceAuthOptions auth)
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
            // Browsers cannot set headers on WebSockets or EventSource: the hub takes the token from the query.
            OnMessageReceived = ctx =>
            {
                if (ctx.Request.Path.StartsWithSegments("/hubs", StringComparison.Ordinal)
                    && ctx.Request.Query["access_token"] is { Count: > 0 } token)
                {
                    ctx.Token = token.ToString();
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
                await WriteProblemAsync(ctx.HttpContext, StatusCodes.Status401Unauthorized, "Unauthorized", detail).ConfigureAwait(false);
            },
            OnForbidden = ctx => WriteProblemAsync(ctx.HttpContext, StatusCodes.Status403Forbidden, "Forbidden",
                "This token's role may not use this endpoint."),
        };
    }

    private static void AddWriteRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<WriteRateLimitOptions>().BindConfiguration(WriteRateLimitOptions.Section);
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(WritesRateLimitPolicy, ctx =>
            {
                var o = ctx.RequestServices.GetRequiredService<IOptions<WriteRateLimitOptions>>().Value;
                // Per user when authenticated, else per client address: one noisy client cannot starve the others.
                var partition = ctx.User.FindFirstValue(PresenceClaims.Subject) is { } sub
                    ? "u:" + sub
                    : "ip:" + ctx.Connection.RemoteIpAddress;
                return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = o.Burst,
                    TokensPerPeriod = o.PerMinute,
                    ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (ctx, ct) =>
            {
                var retryAfter = ctx.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(60);
                ctx.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await WriteProblemAsync(ctx.HttpContext, StatusCodes.Status429TooManyRequests, "Too many requests",
                    "This client sent too many write requests; retry after the Retry-After delay.").ConfigureAwait(false);
            };
        });
    }

    internal static async Task WriteProblemAsync(HttpContext http, int status, string title, string detail)
    {
        http.Response.StatusCode = status;
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        }).ConfigureAwait(false);
    }
}

/// <summary>The claims Presence reads from a token.</summary>
public static class PresenceClaims
{
    public const string Subject = "sub";
    public const string Role = "role";
}

public sealed class WriteRateLimitOptions
{
    public const string Section = "RateLimiting:Writes";

    /// <summary>Sustained write requests per user (or client address) per minute.</summary>
    public int PerMinute { get; set; } = 30;

    /// <summary>Requests allowed in a burst before the sustained rate applies.</summary>
    public int Burst { get; set; } = 10;
}

public sealed class HttpLimitsOptions
{
    public const string Section = "Http";

    /// <summary>Largest request body accepted; larger ones get 413 before anything reads them.</summary>
    public long MaxRequestBodyBytes { get; set; } = 4096;

    /// <summary>
    /// Paths under this prefix are hub transports, exempt from <see cref="MaxRequestBodyBytes"/>: the hub limits each
    /// message itself (<c>Gateway:MaximumReceiveMessageSize</c>). The same prefix the token is read from the query under.
    /// </summary>
    public string HubPathPrefix { get; set; } = "/hubs";
}
