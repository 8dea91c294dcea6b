using Microsoft.Extensions.Options;
using Presence.ServiceDefaults;

namespace Presence.HeartbeatApi.Tests;

/// <summary>Outside Development the service refuses to start with an HS256 key that cannot hold 256 bits.</summary>
public sealed class SigningKeyTests(RedisServer redis)
{
    public static TheoryData<string, string> WeakKeys() => new()
    {
        { "one repeated letter", new string('a', 32) },
        { "one repeated letter, long", new string('a', 128) },
        { "two letters", string.Concat(Enumerable.Repeat("ab", 40)) },
        { "31 characters", "Zq3$kP9!wX2@mL7#vB5%nC8^jH4&tR1" },
        { "a lower-case phrase", "correcthorsebatterystaplecorrect" },
    };

    [Theory]
    [MemberData(nameof(WeakKeys))]
    public async Task Production_refuses_a_weak_signing_key(string kind, string key)
    {
        await using var app = Production(key);

        var refused = Assert.Throws<OptionsValidationException>(() => app.Services);

        Assert.Contains("Auth:SigningKey", refused.Message, StringComparison.Ordinal);
        Assert.True(SigningKeyStrength.Weakness(key) is not null, kind);
    }

    [Theory]
    [InlineData("hex")]
    [InlineData("base64")]
    public async Task Production_starts_with_32_random_bytes(string encoding)
    {
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var key = encoding == "hex" ? Convert.ToHexStringLower(bytes) : Convert.ToBase64String(bytes);
        await using var app = Production(key);

        using var client = app.CreateClient();
        var response = await client.GetAsync("/health/live", TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Production_with_an_oidc_authority_needs_no_signing_key()
    {
        await using var app = Production(new string('a', 32));
        app.Settings["Auth:Authority"] = "https://login.example.org/";

        _ = app.Services;
    }

    private HeartbeatApiFactory Production(string key)
    {
        var app = new HeartbeatApiFactory(redis);
        app.Settings["environment"] = "Production";
        app.Settings["Auth:SigningKey"] = key;
        return app;
    }
}
