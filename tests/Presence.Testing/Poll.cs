using Microsoft.Extensions.Time.Testing;

namespace Presence.Testing;

/// <summary>
/// Where a real wait cannot be avoided: poll a condition until a deadline, then fail with what was awaited. Never a
/// fixed sleep as an assertion. With a <see cref="FakeTimeProvider"/>, each round that finds the condition false
/// also moves the fake clock on by <c>step</c>, for work that is due on the fake clock but done on the real one.
/// </summary>
public static class Poll
{
    /// <summary>Long enough for a loaded machine; a deadline only costs time when the test fails.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    public static Task UntilAsync(Func<bool> condition, string what = "the condition", TimeSpan? timeout = null, FakeTimeProvider? clock = null, TimeSpan? step = null) =>
        UntilAsync(() => Task.FromResult(condition()), () => what, timeout, clock, step);

    public static Task UntilAsync(Func<Task<bool>> condition, string what = "the condition", TimeSpan? timeout = null, FakeTimeProvider? clock = null, TimeSpan? step = null) =>
        UntilAsync(condition, () => what, timeout, clock, step);

    public static Task UntilAsync(Func<bool> condition, Func<string> because, TimeSpan? timeout = null, FakeTimeProvider? clock = null, TimeSpan? step = null) =>
        UntilAsync(() => Task.FromResult(condition()), because, timeout, clock, step);

    /// <summary>Polls until the condition holds; when the deadline passes, fails the test with <paramref name="because"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<string> because, TimeSpan? timeout = null, FakeTimeProvider? clock = null, TimeSpan? step = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Not true within {limit.TotalSeconds:0.#} s: {because()}.");
            }

            if (clock is not null)
            {
                clock.Advance(step ?? TimeSpan.FromSeconds(1));
            }

            await Task.Delay(Interval, TestContext.Current.CancellationToken);
        }
    }
}
