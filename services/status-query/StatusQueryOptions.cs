using System.Globalization;
using Microsoft.Extensions.Options;

namespace Presence.StatusQuery;

/// <summary>Settings of the status-query service (section <c>StatusQuery</c>), validated at start-up.</summary>
public sealed class StatusQueryOptions
{
    public const string Section = "StatusQuery";

    /// <summary>The board is read from Redis at most once per this interval per instance; every poller in between shares it.</summary>
    public TimeSpan BoardRefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary><c>Cache-Control: public, max-age</c> of the board and the counts.</summary>
    public TimeSpan ClientMaxAge { get; set; } = TimeSpan.FromSeconds(5);

    private PublicHeader? _publicCacheControl;

    /// <summary>
    /// The <c>Cache-Control</c> of a public read, <see cref="ClientMaxAge"/> in whole seconds: written here once for
    /// every endpoint that sends it, and one string per value rather than one per request.
    /// </summary>
    public string PublicCacheControl
    {
        get
        {
            var seconds = (long)ClientMaxAge.TotalSeconds;
            var current = _publicCacheControl;
            if (current is null || current.Seconds != seconds)
            {
                current = new PublicHeader(seconds, "public, max-age=" + seconds.ToString(CultureInfo.InvariantCulture));
                _publicCacheControl = current;
            }

            return current.Value;
        }
    }

    /// <summary>How often the board page polls (it also gets live pushes from the gateway when it can reach it).</summary>
    public TimeSpan PagePollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Base URL of the realtime gateway (its hub is at <c>/hubs/presence</c>); unset, the page only polls.</summary>
    public string? GatewayUrl { get; set; }

    /// <summary>Largest <c>limit</c> of one board page.</summary>
    public int MaxPageSize { get; set; } = 1000;
}

internal sealed record PublicHeader(long Seconds, string Value);

internal sealed class StatusQueryOptionsValidator : IValidateOptions<StatusQueryOptions>
{
    public ValidateOptionsResult Validate(string? name, StatusQueryOptions o)
    {
        var errors = new List<string>();
        if (o.BoardRefreshInterval <= TimeSpan.Zero || o.BoardRefreshInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add("StatusQuery:BoardRefreshInterval must be positive and at most a minute.");
        }

        if (o.ClientMaxAge < TimeSpan.Zero)
        {
            errors.Add("StatusQuery:ClientMaxAge must not be negative.");
        }

        if (o.PagePollInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add("StatusQuery:PagePollInterval must be at least a second.");
        }

        if (!string.IsNullOrEmpty(o.GatewayUrl)
            && !(Uri.TryCreate(o.GatewayUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            errors.Add("StatusQuery:GatewayUrl must be an absolute http(s) URL.");
        }

        if (o.MaxPageSize < 1)
        {
            errors.Add("StatusQuery:MaxPageSize must be at least 1.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
