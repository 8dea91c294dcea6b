using Presence.RealtimeGateway;
using Presence.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRealtimeGateway();

var app = builder.Build();
app.UseServiceDefaults();
app.MapRealtimeGateway();
app.MapDefaultEndpoints();
app.Run();
