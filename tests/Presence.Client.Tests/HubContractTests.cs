using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR;

namespace Presence.Client.Tests;

/// <summary>
/// docs/hub.md is the one list of the hub's methods and messages: the gateway, the .NET client and the browser client
/// (@presence/client) use exactly the names it lists, and the pushed message carries only the fields it documents.
/// </summary>
public sealed partial class HubContractTests
{
    private static readonly string Doc = File.ReadAllText(Path.Combine(ClientsJs.RepoRoot, "docs", "hub.md"));

    private static readonly Assembly Gateway = Assembly.Load("Presence.RealtimeGateway");

    private static IReadOnlySet<string> Documented(string section) =>
        Section(section).Split('\n').Select(l => FirstCell().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet();

    private static string Section(string heading)
    {
        var start = Doc.IndexOf("## " + heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/hub.md has no '## {heading}' section");
        var end = Doc.IndexOf("\n## ", start + 3, StringComparison.Ordinal);
        return end < 0 ? Doc[start..] : Doc[start..end];
    }

    private static IReadOnlySet<string> HubMethodNames(string typeName) =>
        Gateway.GetType(typeName, throwOnError: true)!.GetMethods()
            .Select(m => m.GetCustomAttribute<HubMethodNameAttribute>()?.Name).OfType<string>().ToHashSet();

    [Fact]
    public void The_gateway_serves_exactly_the_documented_methods_and_sends_the_documented_messages()
    {
        Assert.Equal(Documented("Methods").Order(), HubMethodNames("Presence.RealtimeGateway.Hubs.PresenceHub").Order());
        Assert.Equal(Documented("Messages").Order(), HubMethodNames("Presence.RealtimeGateway.Hubs.IPresenceClient").Order());
    }

    [Fact]
    public void The_dotnet_client_calls_only_documented_methods_and_listens_to_the_documented_messages()
    {
        var source = File.ReadAllText(Path.Combine(ClientsJs.RepoRoot, "shared", "Presence.Client", "PresenceHubClient.cs"));
        var invoked = Invocation().Matches(source).Select(m => m.Groups[1].Value).ToHashSet();

        Assert.NotEmpty(invoked);
        Assert.Subset(Documented("Methods").ToHashSet(), invoked);
        Assert.Contains(PresenceHubClient.PresenceChangedMethod, Documented("Messages"));
        Assert.Contains(PresenceHubClient.HeartbeatAckMethod, Documented("Messages"));
    }

    [Fact]
    public async Task The_browser_client_names_exactly_the_documented_methods_and_messages()
    {
        var output = ClientsJs.NewOutputDirectory("hub-names");
        var file = Path.Combine(output, "names.json");
        await ClientsJs.RunNodeAsync("--input-type=module", "-e",
            "const m = await import('@presence/client'); const fs = await import('node:fs'); "
            + $"fs.writeFileSync({JsonSerializer.Serialize(file)}, JSON.stringify({{ methods: Object.values(m.HubMethods), messages: Object.values(m.HubMessages) }}));");
        using var names = JsonDocument.Parse(await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));

        Assert.Equal(Documented("Methods").Order(), names.RootElement.GetProperty("methods").EnumerateArray().Select(e => e.GetString()!).Order());
        Assert.Equal(Documented("Messages").Order(), names.RootElement.GetProperty("messages").EnumerateArray().Select(e => e.GetString()!).Order());
    }

    [Fact]
    public void Presence_changed_carries_only_documented_fields_in_the_gateway_and_the_dotnet_client()
    {
        var documented = Section("Messages").Split('\n').First(l => l.StartsWith("| `presence-changed`", StringComparison.Ordinal));
        var fields = Field().Matches(documented[documented.IndexOf('{', StringComparison.Ordinal)..]).Select(m => m.Value).ToHashSet();
        static IEnumerable<string> CamelProperties(Type type) => type.GetProperties().Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name));

        Assert.Superset(CamelProperties(Gateway.GetType("Presence.RealtimeGateway.Hubs.PresenceChanged", throwOnError: true)!).ToHashSet(), fields);
        Assert.Superset(CamelProperties(typeof(PresenceChange)).ToHashSet(), fields);
    }

    [GeneratedRegex(@"^\| `([A-Za-z-]+)` \|")]
    private static partial Regex FirstCell();

    [GeneratedRegex(@"(?:InvokeAsync|SendAsync)(?:<[A-Za-z]+>)?\(""([A-Za-z-]+)""")]
    private static partial Regex Invocation();

    [GeneratedRegex(@"[a-zA-Z]+")]
    private static partial Regex Field();
}
