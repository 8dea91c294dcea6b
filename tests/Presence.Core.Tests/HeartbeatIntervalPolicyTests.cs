using Microsoft.Extensions.Time.Testing;
using Presence.Core.Intervals;

namespace Presence.Core.Tests;

public sealed class HeartbeatIntervalPolicyTests
{
    private static readonly PresenceOptions Presence = new();
    private static readonly HeartbeatIntervalOptions Options = new();

    private static int Decide(bool visible = true, bool watched = false, double load = 0, double random = 0.5, PresenceOptions? presence = null) =>
        HeartbeatIntervalPolicy.Decide(presence ?? Presence, Options, new IntervalSignals(visible, watched, load), random);

    [Fact]
    public void A_visible_unwatched_client_below_capacity_gets_the_configured_interval() =>
        Assert.Equal(30, Decide());

    [Fact]
    public void A_hidden_client_gets_the_interval_times_the_hidden_factor() =>
        Assert.Equal(60, Decide(visible: false));

    [Fact]
    public void A_watched_visible_therapist_gets_the_interval_times_the_watched_factor() =>
        Assert.Equal(15, Decide(watched: true));

    [Fact]
    public void Hidden_wins_over_watched() =>
        Assert.Equal(60, Decide(visible: false, watched: true));

    [Fact]
    public void Past_capacity_the_interval_grows_with_the_load_factor_up_to_the_max_stretch()
    {
        Assert.Equal(30, Decide(load: 1.0));
        Assert.Equal(45, Decide(load: 1.5));
        Assert.Equal(60, Decide(load: 5));
    }

    [Fact]
    public void Under_load_the_jitter_moves_the_answer_by_up_to_the_jitter_share_either_way()
    {
        Assert.Equal(36, Decide(load: 1.5, random: 0));
        Assert.Equal(54, Decide(load: 1.5, random: 0.999_999));
        var seeded = new Random(17);
        var answers = Enumerable.Range(0, 1000).Select(_ => Decide(load: 1.5, random: seeded.NextDouble())).ToArray();
        Assert.All(answers, s => Assert.InRange(s, 36, 54));
        Assert.True(answers.Distinct().Count() >= 10, "answers spread over the jitter range");
    }

    [Fact]
    public void Never_longer_than_the_share_of_the_online_window()
    {
        // 30 × 2 (hidden) × 2 (load) = 120, capped at 0.75 × 120 s.
        Assert.Equal(90, Decide(visible: false, load: 3, random: 0.5));
    }

    [Fact]
    public void Never_shorter_than_a_second_over_the_min_interval()
    {
        var presence = new PresenceOptions { HeartbeatInterval = TimeSpan.FromSeconds(20), MinHeartbeatInterval = TimeSpan.FromSeconds(10) };
        Assert.Equal(11, Decide(watched: true, presence: presence));
    }

    [Fact]
    public void The_load_meter_counts_heartbeats_per_second_over_its_sliding_window()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        var load = new HeartbeatLoad(time, TimeSpan.FromSeconds(10));
        for (var i = 0; i < 100; i++)
        {
            load.Record();
        }

        Assert.Equal(10, load.PerSecond());
        time.Advance(TimeSpan.FromSeconds(5));
        for (var i = 0; i < 50; i++)
        {
            load.Record();
        }

        Assert.Equal(15, load.PerSecond());
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(5, load.PerSecond());
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, load.PerSecond());
    }

    [Theory]
    [InlineData(nameof(HeartbeatIntervalOptions.HiddenFactor), 0.5)]
    [InlineData(nameof(HeartbeatIntervalOptions.WatchedFactor), 1.5)]
    [InlineData(nameof(HeartbeatIntervalOptions.CapacityPerSecond), 0)]
    [InlineData(nameof(HeartbeatIntervalOptions.MaxLoadStretch), 0.9)]
    [InlineData(nameof(HeartbeatIntervalOptions.JitterShare), 0.5)]
    [InlineData(nameof(HeartbeatIntervalOptions.MaxShareOfOnlineWindow), 1)]
    public void Out_of_range_interval_options_are_refused_at_start(string property, double value)
    {
        var o = new HeartbeatIntervalOptions();
        typeof(HeartbeatIntervalOptions).GetProperty(property)!.SetValue(o, value);
        var result = new HeartbeatIntervalOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        Assert.Contains(property, result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new HeartbeatIntervalOptionsValidator().Validate(null, new HeartbeatIntervalOptions()).Succeeded);
    }
}
