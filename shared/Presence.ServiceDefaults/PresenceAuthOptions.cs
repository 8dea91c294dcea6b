using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

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

        return ValidateOptionsResult.Success;
    }
}
