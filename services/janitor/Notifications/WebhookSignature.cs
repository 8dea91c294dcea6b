using System.Security.Cryptography;
using System.Text;

namespace Presence.Janitor.Notifications;

/// <summary>Standard Webhooks signing: <c>v1,base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))</c>.</summary>
public static class WebhookSignature
{
    public static string Sign(byte[] key, string id, long timestamp, string body)
    {
        var signed = Encoding.UTF8.GetBytes($"{id}.{timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)}.{body}");
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
    }

    /// <summary>True when any space-separated <c>v1,</c> signature in the header matches (constant-time).</summary>
    public static bool Verify(byte[] key, string id, long timestamp, string body, string signatureHeader)
    {
        var expected = Encoding.ASCII.GetBytes(Sign(key, id, timestamp, body));
        return signatureHeader.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s), expected));
    }
}
