using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Presence.ServiceDefaults;

namespace Presence.Testing;

/// <summary>Mints tokens the way the dev setup signs them (HS256, issuer presence-dev, audience presence), and the bad ones tests need.</summary>
public static class DevTokens
{
    public static string Mint(
        string role,
        string sub,
        TimeSpan? lifetime = null,
        string issuer = "presence-dev",
        string audience = "presence",
        string signingKey = PresenceAuthOptions.DevSigningKey,
        DateTime? notBefore = null)
    {
        var now = notBefore ?? DateTime.UtcNow;
        var claims = new Dictionary<string, object> { [PresenceClaims.Subject] = sub };
        if (!string.IsNullOrEmpty(role))
        {
            claims[PresenceClaims.Role] = role;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime ?? TimeSpan.FromHours(1)),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    public static string Therapist(string id) => Mint("therapist", id);

    public static string Community(string id) => Mint("community", id);

    /// <summary>A token that expired an hour ago (well past any clock skew allowance).</summary>
    public static string Expired(string role, string sub) =>
        Mint(role, sub, lifetime: TimeSpan.FromMinutes(5), notBefore: DateTime.UtcNow.AddHours(-1));

    /// <summary>An unsigned token (<c>alg: none</c>) with otherwise valid claims.</summary>
    public static string Unsigned(string role, string sub)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode(
            $$"""{"sub":"{{sub}}","role":"{{role}}","iss":"presence-dev","aud":"presence","iat":{{now}},"nbf":{{now}},"exp":{{now + 3600}}}""");
        return header + "." + payload + ".";
    }

    public static ClaimsPrincipal Principal(string role, string sub) =>
        new(new ClaimsIdentity([new Claim(PresenceClaims.Subject, sub), new Claim(PresenceClaims.Role, role)], "test", PresenceClaims.Subject, PresenceClaims.Role));
}
