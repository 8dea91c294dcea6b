using System.Diagnostics;
using Microsoft.Extensions.Options;
using Presence.StatusQuery.Features.Board.Realtime;

namespace Presence.StatusQuery.Features.Board;

/// <summary>
/// Keeps the HTTP span of one board poll in <see cref="StatusQueryOptions.BoardPollTraceEvery"/> and drops the
/// others before they are exported (docs/architecture.md, "Telemetry"). Polls are answered from the snapshot's
/// bytes, so their spans all look alike, while creating and exporting one per poll cost about a tenth of the
/// poll rate (docs/benchmarks.md). The request metrics still count every poll, the board build keeps its own span,
/// and a poll that continues a caller's sampled trace (a remote parent) keeps its span.
/// </summary>
internal sealed class BoardPollTraceSampling(RequestDelegate next, IOptionsMonitor<StatusQueryOptions> options)
{
    private long _polls;

    public Task InvokeAsync(HttpContext context)
    {
        if (Activity.Current is { Recorded: true, HasRemoteParent: false } activity
            && HttpMethods.IsGet(context.Request.Method)
            && context.Request.Path.Equals(BoardEndpoint.Route, StringComparison.OrdinalIgnoreCase)
            && Interlocked.Increment(ref _polls) % options.CurrentValue.BoardPollTraceEvery != 0)
        {
            // Not recorded: the export processors skip it; not all data requested: the instrumentation adds no tags.
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            activity.IsAllDataRequested = false;
        }

        return next(context);
    }
}
