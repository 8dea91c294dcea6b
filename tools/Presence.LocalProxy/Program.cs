using Presence.LocalProxy;

var app = LocalProxyApp.Build(WebApplication.CreateBuilder(args));
app.Run();
