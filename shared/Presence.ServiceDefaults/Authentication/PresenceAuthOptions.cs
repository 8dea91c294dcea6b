namespace Presence.ServiceDefaults;

/// <summary>JWT settings (section <c>Auth</c>). Development signs HS256 with a shared key; production names an OIDC authority.</summary>
public sealed class PresenceAuthOptions
{
    public const string Section = "Auth";

    /// <summary>The Development signing key. Anywhere else a service refuses to start with it.</summary>
    public const string DevSigningKey = "dev-only-signing-key-change-me-0123456789abcdef";

    /// <summary>Overrides the Development default key without touching configuration files.</summary>
    public const string DevSigningKeyVariable = "PRESENCE_DEV_SIGNING_KEY";

    /// <summary>OIDC authority (discovery document) used instead of a signing key when set.</summary>
    public string? Authority { get; set; }

    /// <summary>HS256 key; defaults to <see cref="DevSigningKeyVariable"/> or <see cref="DevSigningKey"/>.</summary>
    public string? SigningKey { get; set; }

    public string Issuer { get; set; } = "presence-dev";

    public string Audience { get; set; } = "presence";

    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public string EffectiveSigningKey =>
        !string.IsNullOrEmpty(SigningKey) ? SigningKey
        : Environment.GetEnvironmentVariable(DevSigningKeyVariable) is { Length: > 0 } fromEnv ? fromEnv
        : DevSigningKey;
}

internal sealed class PresenceAuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<PresenceAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, PresenceAuthOptions options)
    {
        if (!string.IsNullOrEmpty(options.Authority))
        {
            return ValidateOptionsResult.Success;
        }

        if (options.EffectiveSigningKey.Length < 32)
        {
            return ValidateOptionsResult.Fail("Auth:SigningKey must be at least 32 characters (HS256 needs 256 bits).");
        }

        if (!environment.IsDevelopment() && options.EffectiveSigningKey == PresenceAuthOptions.DevSigningKey)
        {
            return ValidateOptionsResult.Fail(
                $"Refusing to start in '{environment.EnvironmentName}' with the Development signing key: set Auth:Authority or Auth:SigningKey.");
        }

        if (!environment.IsDevelopment() && SigningKeyStrength.Weakness(options.EffectiveSigningKey) is { } weakness)
        {
            return ValidateOptionsResult.Fail(
                $"Refusing to start in '{environment.EnvironmentName}' with a weak Auth:SigningKey ({weakness}): "
                + "use at least 32 random bytes, e.g. `openssl rand -base64 32`, or set Auth:Authority.");
        }

        return ValidateOptionsResult.Success;
    }
}

/// <summary>
/// A cheap guard against hand-typed HS256 keys: the key's bits are estimated as its length times log2 of the
/// alphabet its characters come from (hex, letters, digits, symbols), and a key of few distinct characters is
/// refused whatever its length. <c>openssl rand -hex 32</c> and <c>openssl rand -base64 32</c> pass.
/// </summary>
public static class SigningKeyStrength
{
    /// <summary>Bits an HS256 key must carry.</summary>
    public const int MinimumBits = 256;

    /// <summary>Fewer distinct characters than this is a pattern, not a random key.</summary>
    public const int MinimumDistinctCharacters = 10;

    /// <summary>Why the key is too weak, or null when it is strong enough.</summary>
    public static string? Weakness(string key)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(key) * 8 < MinimumBits)
        {
            return $"shorter than {MinimumBits} bits";
        }

        var distinct = key.Distinct().Count();
        if (distinct < MinimumDistinctCharacters)
        {
            return $"only {distinct} distinct characters";
        }

        var bits = key.Length * Math.Log2(AlphabetSize(key));
        return bits < MinimumBits ? $"about {bits:0} bits of entropy" : null;
    }

    private static int AlphabetSize(string key)
    {
        if (key.All(char.IsAsciiHexDigitLower) || key.All(char.IsAsciiHexDigitUpper))
        {
            return 16;
        }

        var size = 0;
        size += key.Any(char.IsAsciiLetterLower) ? 26 : 0;
        size += key.Any(char.IsAsciiLetterUpper) ? 26 : 0;
        size += key.Any(char.IsAsciiDigit) ? 10 : 0;
        size += key.Any(c => !char.IsAsciiLetterOrDigit(c)) ? 32 : 0;
        return size;
    }
}
