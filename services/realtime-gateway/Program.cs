using Presence.Core;
using Presence.RealtimeGateway;
using Presence.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddPresenceCore(builder.Configuration);
builder.AddRealtimeGateway();

var app = builder.Build();
app.UseServiceDefaults();
app.MapRealtimeGateway();
app.MapDefaultEndpoints();
app.Run();
