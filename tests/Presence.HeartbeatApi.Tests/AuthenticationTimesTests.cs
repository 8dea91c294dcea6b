using Microsoft.AspNetCore.Authentication;
using Presence.ServiceDefaults.Authentication;

namespace Presence.HeartbeatApi.Tests;

/// <summary>A cached token's ticket times, set from strings formatted once, read back as the properties' own setters leave them.</summary>
public sealed class AuthenticationTimesTests
{
    [Fact]
    public void Times_set_from_cached_strings_read_back_as_the_setters_leave_them()
    {
        var issued = new DateTimeOffset(2026, 11, 29, 22, 0, 5, TimeSpan.Zero);
        var expires = issued.AddMinutes(30);
        var bySetters = new AuthenticationProperties { IssuedUtc = issued, ExpiresUtc = expires };
        var cached = new AuthenticationProperties();

        AuthenticationTimes.Set(cached, AuthenticationTimes.Format(issued), AuthenticationTimes.Format(expires));

        Assert.Equal(bySetters.Items, cached.Items);
        Assert.Equal(issued, cached.IssuedUtc);
        Assert.Equal(expires, cached.ExpiresUtc);
    }

    [Fact]
    public void A_token_without_an_issue_time_sets_only_the_expiry()
    {
        var expires = new DateTimeOffset(2026, 11, 29, 22, 30, 0, TimeSpan.Zero);
        var cached = new AuthenticationProperties();

        AuthenticationTimes.Set(cached, issued: null, AuthenticationTimes.Format(expires));

        Assert.Null(cached.IssuedUtc);
        Assert.Equal(expires, cached.ExpiresUtc);
    }
}
