using Microsoft.Extensions.Options;

namespace Presence.Core.Tests;

public sealed class ModelTests
{
    [Theory]
    [InlineData("t-1", true)]
    [InlineData("user.name@example.org", true)]
    [InlineData("A_b-9", true)]
    [InlineData("", false)]
    [InlineData("with space", false)]
    [InlineData("colon:inside", false)]
    [InlineData("brace{", false)]
    [InlineData("star*", false)]
    [InlineData("new\nline", false)]
    [InlineData("trailing-newline\n", false)]
    [InlineData("trailing-crlf\r\n", false)]
    [InlineData("ünicode", false)]
    public void User_ids_are_validated_before_they_touch_a_key(string id, bool valid) => Assert.Equal(valid, UserId.IsValid(id));

    [Fact]
    public void User_ids_are_at_most_128_characters()
    {
        Assert.True(UserId.IsValid(new string('a', 128)));
        Assert.False(UserId.IsValid(new string('a', 129)));
        Assert.False(UserId.IsValid(null));
    }

    [Fact]
    public void Keys_carry_the_role_hash_tag_and_the_configured_prefix()
    {
        var keys = new PresenceKeys("presence");
        Assert.Equal("presence:{therapist}:lastseen", keys.LastSeen(Role.Therapist).ToString());
        Assert.Equal("presence:{community}:online", keys.Online(Role.Community).ToString());
        Assert.Equal("presence:{therapist}:available", keys.Available(Role.Therapist).ToString());
        Assert.Equal("presence:{therapist}:user:t-1", keys.User(Role.Therapist, "t-1").ToString());
        Assert.Equal("presence:{community}:throttle:c-1|phone", keys.Throttle(Role.Community, "c-1", "phone").ToString());
        Assert.Equal("presence:{community}:sessions:c-1", keys.Sessions(Role.Community, "c-1").ToString());
        Assert.Equal("presence:{therapist}:recent", keys.Recent(Role.Therapist).ToString());
        Assert.Equal("presence:{therapist}:versions", keys.Versions(Role.Therapist).ToString());
        Assert.Equal("presence:{therapist}:events", keys.Events(Role.Therapist).ToString());
        Assert.Equal("presence:janitor:lease", keys.JanitorLease.ToString());
        Assert.Equal("other:{therapist}:online", new PresenceKeys("other").Online(Role.Therapist).ToString());
    }

    [Fact]
    public void Default_options_are_valid()
    {
        Assert.True(new PresenceOptionsValidator().Validate(null, new PresenceOptions()).Succeeded);
    }

    [Theory]
    [InlineData(3600, 3600, 86400, 30, 10)]   // online not shorter than recent
    [InlineData(120, 90000, 86400, 30, 10)]   // recent longer than retention
    [InlineData(120, 3600, 86400, 30, 30)]    // min interval not shorter than heartbeat interval
    [InlineData(120, 3600, 86400, 150, 10)]   // heartbeat interval not shorter than online window
    [InlineData(0, 3600, 86400, 30, 10)]      // not positive
    public void Inconsistent_windows_fail_validation_at_start(int online, int recent, int retention, int heartbeat, int minInterval)
    {
        var options = new PresenceOptions
        {
            OnlineWindow = TimeSpan.FromSeconds(online),
            RecentWindow = TimeSpan.FromSeconds(recent),
            Retention = TimeSpan.FromSeconds(retention),
            HeartbeatInterval = TimeSpan.FromSeconds(heartbeat),
            MinHeartbeatInterval = TimeSpan.FromSeconds(minInterval),
        };
        Assert.True(new PresenceOptionsValidator().Validate(null, options).Failed);
    }

    [Fact]
    public void A_prefix_with_braces_would_break_hash_tags_and_is_refused()
    {
        var result = new PresenceOptionsValidator().Validate(null, new PresenceOptions { KeyPrefix = "a{b}" });
        Assert.True(result.Failed);
    }

    [Fact]
    public void Role_names_round_trip()
    {
        foreach (var role in Roles.All)
        {
            Assert.True(Roles.TryParse(role.Name(), out var parsed));
            Assert.Equal(role, parsed);
        }

        Assert.False(Roles.TryParse("admin", out _));
    }

    [Fact]
    public void Clock_skew_is_reported_only_beyond_the_threshold_in_whole_seconds_client_minus_server()
    {
        var o = new PresenceOptions();
        var server = new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

        Assert.Null(o.ClockSkewSeconds(null, server));
        Assert.Null(o.ClockSkewSeconds(server.AddMinutes(5), server));
        Assert.Null(o.ClockSkewSeconds(server.AddMinutes(-5), server));
        Assert.Equal(301, o.ClockSkewSeconds(server.AddSeconds(300.6), server));
        Assert.Equal(-600, o.ClockSkewSeconds(server.AddMinutes(-10), server));
        Assert.Equal(30, new PresenceOptions().NextHeartbeatSeconds);
    }
}
