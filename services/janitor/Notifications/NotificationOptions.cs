using Microsoft.Extensions.Options;

namespace Presence.Janitor.Notifications;

/// <summary>Preferred-therapist notifications (section <c>Notifications</c>), validated at start-up.</summary>
public sealed class NotificationOptions
{
    public const string Section = "Notifications";

    /// <summary>At most one notification per (user, therapist) within this long.</summary>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromHours(6);

    /// <summary>The platform's notification service; when unset, users without a live hub connection are not notified.</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>The Standard Webhooks signing secret, <c>whsec_</c> followed by base64 key bytes.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>Delivery attempts per webhook, the first included; after the last the notification goes to the dead-letter stream.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First retry delay; each next one doubles, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for one webhook answer.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Webhook requests per second to one endpoint (pacing; further deliveries wait their turn).</summary>
    public int RequestsPerSecond { get; set; } = 20;

    /// <summary>The secret's key bytes (after the <c>whsec_</c> prefix).</summary>
    internal byte[] SecretKey => Convert.FromBase64String(WebhookSecret!["whsec_".Length..]);
}

public sealed class NotificationOptionsValidator : IValidateOptions<NotificationOptions>
{
    public ValidateOptionsResult Validate(string? name, NotificationOptions o)
    {
        var errors = new List<string>();
        if (o.Cooldown <= TimeSpan.Zero || o.RetryBaseDelay <= TimeSpan.Zero || o.AttemptTimeout <= TimeSpan.Zero)
        {
            errors.Add("Notifications:Cooldown, RetryBaseDelay and AttemptTimeout must be positive.");
        }

        if (o.MaxAttempts is < 1 or > 20 || o.RequestsPerSecond < 1)
        {
            errors.Add("Notifications:MaxAttempts must be 1-20 and RequestsPerSecond at least 1.");
        }

        if (o.WebhookUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)))
        {
            errors.Add("Notifications:WebhookUrl must be an absolute http(s) URL.");
        }

        if (o.WebhookUrl is not null && !IsSecret(o.WebhookSecret))
        {
            errors.Add("Notifications:WebhookSecret must be whsec_<base64> (at least 24 key bytes) when a WebhookUrl is set.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsSecret(string? secret)
    {
        if (secret is null || !secret.StartsWith("whsec_", StringComparison.Ordinal))
        {
            return false;
        }

        var buffer = new byte[secret.Length];
        return Convert.TryFromBase64String(secret["whsec_".Length..], buffer, out var written) && written >= 24;
    }
}
