using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Presence.Testing;

public static class MetricCollectors
{
    /// <summary>The measurements of one instrument of the <c>Presence</c> meter, from the meter factory of these services.</summary>
    public static MetricCollector<T> Collect<T>(this IServiceProvider services, string instrument)
        where T : struct =>
        new(services.GetRequiredService<IMeterFactory>(), "Presence", instrument);
}
