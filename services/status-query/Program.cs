using Presence.Core;
using Presence.Endpoints;
using Presence.ServiceDefaults;
using Presence.StatusQuery;
using Presence.StatusQuery.Features.Board;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddPresenceCore(builder.Configuration);
builder.AddStatusQuery();

var app = builder.Build();
// CORS first: preflights are answered before authentication, and its headers survive error answers.
app.UseCors();
// The whole board from the fresh snapshot, ahead of auth and the output cache (none of which change that answer).
app.UseMiddleware<BoardFastPath>();
app.UseServiceDefaults();
// After CORS (its headers are part of what is stored) and after auth; only endpoints with a cache policy use it.
app.UseOutputCache();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UsePresenceEndpoints();
app.MapDefaultEndpoints();
app.Run();
