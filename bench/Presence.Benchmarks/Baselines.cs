using System.Security.Claims;
using Microsoft.Extensions.Options;
using Presence.Core;
using Presence.ServiceDefaults;
using StackExchange.Redis;

namespace Presence.Benchmarks;

/// <summary>
/// What a team would build instead, measured beside the real services in the same run:
/// (a) an empty POST answering a tiny JSON, (b) the same behind the same JWT validation,
/// (c) the naive hand-rolled heartbeat (JWT + one ZADD), (d) a fixed JSON of the board's size; and an OTLP sink.
/// </summary>
internal static class Baselines
{
    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddOptions<PresenceAuthOptions>().BindConfiguration(PresenceAuthOptions.Section);
        builder.Services.AddPresenceAuthentication();
        // Connected once, up front, as the services do; never on a request.
        var redis = await ConnectionMultiplexer.ConnectAsync(
            (builder.Configuration.GetConnectionString("redis") ?? "127.0.0.1:6379") + ",abortConnect=false");
        builder.Services.AddSingleton<IConnectionMultiplexer>(redis);
        var boardFile = builder.Configuration["Board:File"];
        // Read on the first request after the orchestrator wrote the file (it does so after this process started,
        // and its readiness probe hits /d before): until then "{}" is answered and not kept, so (d) sends the board's size.
        byte[]? board = null;
        byte[] Board() => board ?? (boardFile is not null && File.Exists(boardFile) ? board = File.ReadAllBytes(boardFile) : "{}"u8.ToArray());

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapPost("/a", () => Results.Json(new Tiny(true)));
        app.MapPost("/b", () => Results.Json(new Tiny(true))).RequireAuthorization();
        var key = new PresenceKeys("baseline").LastSeen(PresenceRole.Community, 0);
        app.MapPost("/c", async (ClaimsPrincipal user, IConnectionMultiplexer redis) =>
        {
            await redis.GetDatabase().SortedSetAddAsync(key, user.FindFirstValue("sub"), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            return Results.Json(new Tiny(true));
        }).RequireAuthorization();
        app.MapGet("/d", () => Results.Bytes(Board(), "application/json"));
        // An OTLP/HTTP sink: the services under test export their telemetry here as in production, and it is dropped.
        app.MapPost("/v1/{signal}", async (HttpRequest request) =>
        {
            await request.Body.CopyToAsync(Stream.Null);
            return Results.Bytes([], "application/x-protobuf");
        });
        _ = app.Services.GetRequiredService<IOptions<PresenceAuthOptions>>().Value;
        await app.RunAsync();
    }

    private sealed record Tiny(bool Accepted);
}
