using System.Reflection;
using FastEndpoints;
using FastEndpoints.Swagger;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NJsonSchema;
using NJsonSchema.Generation.TypeMappers;
using Presence.Core;

namespace Presence.Endpoints;

/// <summary>
/// The FastEndpoints set-up of a REST service (heartbeat-api, status-query), written once: its own endpoints only,
/// refusals as problem details, a bad id bound from a route or query named with its pattern, and the OpenAPI
/// document at <c>/openapi/v1.json</c> (docs/architecture.md, "Layout").
/// </summary>
public static class EndpointDefaults
{
    public const string OpenApiPath = "/openapi";

    /// <summary>Registers the endpoints of <paramref name="assembly"/> and the <c>v1</c> OpenAPI document titled <paramref name="title"/>.</summary>
    public static IServiceCollection AddPresenceEndpoints(this IServiceCollection services, Assembly assembly, string title)
    {
        // Only this assembly's endpoints: FastEndpoints otherwise scans every loaded assembly, and a process
        // hosting two services (the deployment tests boot all four) would map the other's endpoints too.
        services.AddFastEndpoints(o =>
        {
            o.DisableAutoDiscovery = true;
            o.Assemblies = [assembly];
        });
        services.SwaggerDocument(o =>
        {
            o.DocumentSettings = s =>
            {
                s.DocumentName = "v1";
                s.Title = title;
                s.Version = "v1";
                // An id is a JSON string on the wire (UserId.JsonConverter), not the struct's shape.
                s.SchemaSettings.TypeMappers.Add(new PrimitiveTypeMapper(typeof(UserId), schema => schema.Type = JsonObjectType.String));
            };
        });
        return services;
    }

    /// <summary>Maps the endpoints (<paramref name="configure"/> adds a service's own settings) and the OpenAPI document.</summary>
    public static WebApplication UsePresenceEndpoints(this WebApplication app, Action<Config>? configure = null)
    {
        app.UseFastEndpoints(c =>
        {
            c.Errors.UseProblemDetails();
            c.Binding.FailureMessage = UserIdBinding.Message;
            configure?.Invoke(c);
        });
        // Only its own path enters the document middleware: it would otherwise hold an async frame of every request.
        app.UseWhen(
            c => c.Request.Path.StartsWithSegments(OpenApiPath, StringComparison.Ordinal),
            b => b.UseOpenApi(c => c.Path = OpenApiPath + "/{documentName}.json"));
        return app;
    }
}
