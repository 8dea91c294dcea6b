using Presence.Janitor.Notifications;

namespace Presence.Janitor.Tests;

public sealed class NotificationOptionsTests
{
    private static readonly string Secret = "whsec_" + Convert.ToBase64String(new byte[32]);

    [Fact]
    public void The_defaults_are_valid_without_a_webhook_and_a_webhook_needs_a_whsec_secret()
    {
        var validator = new NotificationOptionsValidator();
        Assert.True(validator.Validate(null, new NotificationOptions()).Succeeded);
        Assert.True(validator.Validate(null, new NotificationOptions { WebhookUrl = new Uri("https://notify.example/hook"), WebhookSecret = Secret }).Succeeded);

        foreach (var secret in new[] { null, "secret", "whsec_not-base64!", "whsec_" + Convert.ToBase64String(new byte[8]) })
        {
            var result = validator.Validate(null, new NotificationOptions { WebhookUrl = new Uri("https://notify.example/hook"), WebhookSecret = secret });
            Assert.Contains("WebhookSecret", result.FailureMessage, StringComparison.Ordinal);
        }

        Assert.StartsWith("Notifications:WebhookUrl ", Rule(new NotificationOptions { WebhookUrl = new Uri("ftp://notify.example/"), WebhookSecret = Secret }), StringComparison.Ordinal);
        Assert.StartsWith("Notifications:Cooldown", Rule(new NotificationOptions { Cooldown = TimeSpan.Zero }), StringComparison.Ordinal);
        Assert.StartsWith("Notifications:MaxAttempts ", Rule(new NotificationOptions { MaxAttempts = 0 }), StringComparison.Ordinal);

        string Rule(NotificationOptions options) => Assert.Single(validator.Validate(null, options).Failures!);
    }

    [Fact]
    public void The_signature_is_v1_base64_hmac_sha256_of_id_timestamp_and_body()
    {
        // Computed independently: printf 'msg_1.1764412345.{}' | openssl dgst -sha256 -mac HMAC -macopt hexkey:00…00 (32 bytes) -binary | base64
        var key = new byte[32];
        var signature = WebhookSignature.Sign(key, "msg_1", 1764412345, "{}");
        Assert.Equal("v1,EbeoMZYY7vvf51RoDGAbo0c2rXXgKRxWMuFSrD2HBOE=", signature);
        Assert.True(WebhookSignature.Verify(key, "msg_1", 1764412345, "{}", "v1,bogus " + signature));
        Assert.False(WebhookSignature.Verify(key, "msg_1", 1764412346, "{}", signature));
        Assert.False(WebhookSignature.Verify(key, "msg_1", 1764412345, "{ }", signature));
    }
}
