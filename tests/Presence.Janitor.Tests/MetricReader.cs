using System.Diagnostics.Metrics;

namespace Presence.Janitor.Tests;

/// <summary>Reads the instruments of one meter instance (one replica's), observable ones on demand.</summary>
internal sealed class MetricReader : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, string?> Tags)> _measurements = [];
    private readonly Lock _gate = new();

    public MetricReader(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    /// <summary>Everything measured so far, after asking the observable instruments for their values now.</summary>
    public List<(string Instrument, double Value, Dictionary<string, string?> Tags)> Collect()
    {
        _listener.RecordObservableInstruments();
        lock (_gate)
        {
            return [.. _measurements];
        }
    }

    /// <summary>The latest value of an observable instrument with the given tags, or null when it reported none.</summary>
    public double? Observe(string instrument, params (string Key, string Value)[] tags)
    {
        lock (_gate)
        {
            _measurements.RemoveAll(m => m.Instrument == instrument);
        }

        return Collect().Where(m => m.Instrument == instrument && tags.All(t => m.Tags.GetValueOrDefault(t.Key) == t.Value))
            .Select(m => (double?)m.Value).LastOrDefault();
    }

    /// <summary>The sum of a counter's (or histogram's) measurements with the given tags.</summary>
    public double Sum(string instrument, params (string Key, string Value)[] tags) =>
        Collect().Where(m => m.Instrument == instrument && tags.All(t => m.Tags.GetValueOrDefault(t.Key) == t.Value)).Sum(m => m.Value);

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, string?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value?.ToString();
        }

        lock (_gate)
        {
            _measurements.Add((instrument.Name, value, copy));
        }
    }
}
