namespace Presence.Testing;

/// <summary>Where a real wait cannot be avoided: poll a condition until a deadline, then fail with a message.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not true within {timeout.TotalSeconds:0} s: {what}.");
            }

            await Task.Delay(100);
        }
    }
}
