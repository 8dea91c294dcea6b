using FastEndpoints;
using FastEndpoints.Swagger;
using Presence.HeartbeatApi;
using Presence.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddHeartbeatApi();

var app = builder.Build();
app.UseServiceDefaults();
app.UseFastEndpoints(c =>
{
    c.Errors.UseProblemDetails();
    c.Serializer.RequestDeserializer = OptionalJsonBody.With(c.Serializer.Options);
});
app.UseOpenApi(c => c.Path = "/openapi/{documentName}.json");
app.MapDefaultEndpoints();
app.Run();
