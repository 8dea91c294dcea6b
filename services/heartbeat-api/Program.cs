using Presence.Core;
using Presence.Endpoints;
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
app.UsePresenceEndpoints(c => c.Serializer.RequestDeserializer = OptionalJsonBody.With(c.Serializer.Options));
app.MapDefaultEndpoints();
app.Run();
