using Microsoft.Playwright;

namespace Presence.Testing.Browser;

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>, installed by <c>./dev.sh test</c>) driven headless by Microsoft.Playwright,
/// with no browser download. The flags keep it off the network it cannot reach here (background services, QUIC) and
/// let it run as root.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;

    private HeadlessChromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static async Task<HeadlessChromium> LaunchAsync()
    {
        Assert.True(File.Exists(ExecutablePath), $"{ExecutablePath} is missing: apt-get install -y chromium (./dev.sh test does this).");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
        return new HeadlessChromium(playwright, browser);
    }

    /// <summary>A page in a browser context of its own (its own cookies and storage), of this size when given.</summary>
    public async Task<IPage> NewPageAsync(int? width = null, int? height = null)
    {
        var context = await Browser.NewContextAsync(width is null || height is null ? new() : new() { ViewportSize = new() { Width = width.Value, Height = height.Value } });
        return await context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
