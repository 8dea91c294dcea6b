namespace Presence.StatusQuery.Tests;

public sealed class LastActiveTextTests
{
    [Theory]
    [InlineData(0, "just now")]
    [InlineData(59_999, "just now")]
    [InlineData(60_000, "1m ago")]
    [InlineData(119_999, "1m ago")]
    [InlineData(300_000, "5m ago")]
    [InlineData(3_599_999, "59m ago")]
    [InlineData(3_600_000, "1h ago")]
    [InlineData(7_199_999, "1h ago")]
    [InlineData(86_399_000, "23h ago")]
    [InlineData(90_000_000, "25h ago")]
    public void Text_is_just_now_under_a_minute_then_whole_minutes_then_whole_hours(long elapsedMs, string expected) =>
        Assert.Equal(expected, LastActiveText.Format(TimeSpan.FromMilliseconds(elapsedMs)));

    [Fact]
    public void Last_activity_slightly_in_the_future_reads_as_just_now()
    {
        var now = new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal("just now", LastActiveText.Format(now.AddSeconds(3), now));
    }
}
