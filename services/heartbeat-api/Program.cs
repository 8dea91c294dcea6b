using FastEndpoints.Swagger;
using FastEndpoints;
using Presence.Core;
using Presence.HeartbeatApi;
using Presence.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddPresenceCore(builder.Configuration);
builder.AddHeartbeatApi();

var app = builder.Build();
// CORS first: preflights are answered before authentication, and its headers survive error answers (a 429's Retry-After).
app.UseCors();
app.UseServiceDefaults();
app.UseFastEndpoints(c =>
{
    c.Errors.UseProblemDetails();
    c.Serializer.RequestDeserializer = OptionalJsonBody.With(c.Serializer.Options);
});
// Only its own path enters the document middleware: it would otherwise hold an async frame of every request.
app.UseWhen(c => c.Request.Path.StartsWithSegments("/openapi", StringComparison.Ordinal), b => b.UseOpenApi(c => c.Path = "/openapi/{documentName}.json"));
app.MapDefaultEndpoints();
app.Run();
