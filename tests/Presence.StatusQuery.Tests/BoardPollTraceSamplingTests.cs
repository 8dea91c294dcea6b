using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Presence.StatusQuery;
using Presence.StatusQuery.Features.Board;
using Presence.StatusQuery.Features.Board.Realtime;

namespace Presence.StatusQuery.Tests;

/// <summary>One board poll in <c>BoardPollTraceEvery</c> keeps its HTTP span; other requests and continued traces keep theirs.</summary>
public sealed class BoardPollTraceSamplingTests
{
    private const string SourceName = "Presence.StatusQuery.Tests.Sampling";
    private static readonly ActivitySource Source = new(SourceName);

    [Fact]
    public async Task Keeps_one_board_poll_span_in_every_n_and_every_other_span()
    {
        Assert.Equal(SourceName, Source.Name);
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var options = new StatusQueryOptions { BoardPollTraceEvery = 3 };
        var sampling = new BoardPollTraceSampling(_ => Task.CompletedTask, new StaticMonitor(options));

        var polls = new List<bool>();
        for (var i = 0; i < 6; i++)
        {
            polls.Add(await RecordedAfterAsync(sampling, BoardEndpoint.Route, remoteParent: false));
        }

        Assert.Equal([false, false, true, false, false, true], polls);
        Assert.True(await RecordedAfterAsync(sampling, "/v1/therapists/status/u1", remoteParent: false));
        Assert.True(await RecordedAfterAsync(sampling, BoardEndpoint.Route, remoteParent: true));
    }

    [Fact]
    public void Refuses_a_sampling_below_one()
    {
        var result = new StatusQueryOptionsValidator().Validate(null, new StatusQueryOptions { BoardPollTraceEvery = 0 });
        Assert.True(result.Failed);
        Assert.Contains("BoardPollTraceEvery", result.FailureMessage, StringComparison.Ordinal);
    }

    private static async Task<bool> RecordedAfterAsync(BoardPollTraceSampling sampling, string path, bool remoteParent)
    {
        var parent = remoteParent ? new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true) : default;
        using var activity = Source.StartActivity("request", ActivityKind.Server, parent);
        Assert.NotNull(activity);
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Request.Path = path;
        await sampling.InvokeAsync(context);
        return activity.Recorded;
    }

    private sealed class StaticMonitor(StatusQueryOptions value) : IOptionsMonitor<StatusQueryOptions>
    {
        public StatusQueryOptions CurrentValue => value;

        public StatusQueryOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<StatusQueryOptions, string?> listener) => null;
    }
}
