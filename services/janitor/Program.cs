using Presence.Core;
using Presence.Janitor;
using Presence.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddPresenceCore(builder.Configuration);
builder.AddJanitor();

var app = builder.Build();
app.UseServiceDefaults();
app.MapDefaultEndpoints();
app.Run();

/// <summary>The entry point, public for <c>WebApplicationFactory</c> in the tests.</summary>
public partial class Program;
