namespace Presence.Client.Tests;

/// <summary>What status-query serves at /js/presence.js and /board.js is the build of clients/js, byte for byte.</summary>
public sealed class WebBuildTests(RedisServer redis)
{
    [Fact(Timeout = 120_000)]
    public async Task The_served_client_and_board_page_are_the_build_of_clients_js()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = ClientsJs.NewOutputDirectory("web");
        await ClientsJs.RunNodeAsync("scripts/build-web.mjs", "--out", output);
        await using var statusQuery = ServiceHosts.Create(PresenceService.StatusQuery, redis, RedisServer.NewKeyPrefix(), new Dictionary<string, string?>());
        using var http = statusQuery.CreateHttpClient();

        foreach (var file in new[] { "js/presence.js", "board.js" })
        {
            var built = await File.ReadAllTextAsync(Path.Combine(output, file), ct);
            var served = await http.GetStringAsync("/" + file, ct);
            Assert.True(built == served,
                $"/{file} served by status-query is not the build of clients/js: run `./dev.sh build-web` and commit services/status-query/wwwroot/.");
        }

        Assert.DoesNotContain("signalr.min.js", await http.GetStringAsync("/", ct), StringComparison.Ordinal);
    }
}
