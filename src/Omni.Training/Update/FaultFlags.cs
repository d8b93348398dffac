using static TorchSharp.torch;

namespace Omni.Training.Update;

/// <summary>
/// Problems seen during gradient accumulation, kept as 0-d boolean tensors on the device so no forward pass waits for a
/// host read; <see cref="ReadWith"/> reads them together with the gradient norm, once per optimizer update. A flag raised
/// with a place (such as "trained step 3 (micro-batch 0)") also remembers, on the device, the first place it went up, so
/// the skip reason can say where without a read per forward.
/// </summary>
public sealed class FaultFlags : IDisposable
{
    /// <summary>A non-finite log-prob or mean from the model.</summary>
    public const string Output = "output";

    /// <summary>A non-finite loss.</summary>
    public const string Loss = "loss";

    private readonly Dictionary<string, Tensor> _flags = [];
    // Per flag: the index into _places of the first place it was raised at, −1 while it is down (int64, 0-d, on the device).
    private readonly Dictionary<string, Tensor> _firstPlace = [];
    private readonly List<string> _places = [];
    private readonly Dictionary<string, string> _readPlaces = [];

    /// <summary>Or-s <paramref name="flag"/> (0-d bool) into the flag <paramref name="name"/>; <paramref name="place"/> names where.</summary>
    public void Raise(string name, Tensor flag, string? place = null)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var raised = flag.detach().to(ScalarType.Bool).reshape([]);
        if (place is not null)
        {
            _places.Add(place);
            // This place's index where the flag is raised now, −1 where it is not; the first raised place is kept.
            var candidate = raised.to(ScalarType.Int64) * _places.Count - 1;
            if (_firstPlace.TryGetValue(name, out var first)) first.copy_(where(first.ge(0), first, candidate));
            else _firstPlace[name] = candidate.DetachFromDisposeScope();
        }
        if (_flags.TryGetValue(name, out var existing)) existing.logical_or_(raised);
        else _flags[name] = raised.clone().DetachFromDisposeScope();
    }

    /// <summary>Reads <paramref name="value"/> (0-d) and every flag in one transfer; returns the value and the raised flags.</summary>
    public (double Value, IReadOnlySet<string> Raised) ReadWith(Tensor value)
    {
        using var scope = NewDisposeScope();
        var names = _flags.Keys.ToArray();
        var placed = _firstPlace.Keys.ToArray();
        var host = stack([value.to(ScalarType.Float64).reshape([]), .. names.Select(n => _flags[n].to(ScalarType.Float64).reshape([])),
                          .. placed.Select(n => _firstPlace[n].to(ScalarType.Float64).reshape([]))])
            .cpu().data<double>().ToArray();
        _readPlaces.Clear();
        for (var i = 0; i < placed.Length; i++)
        {
            var index = (int)host[1 + names.Length + i];
            if (index >= 0) _readPlaces[placed[i]] = _places[index];
        }
        return (host[0], names.Where((_, i) => host[i + 1] != 0).ToHashSet());
    }

    /// <summary>" at &lt;place&gt;" for a flag the last <see cref="ReadWith"/> found raised with a place, else empty.</summary>
    public string At(string name) => _readPlaces.TryGetValue(name, out var place) ? $" at {place}" : "";

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var flag in _flags.Values) flag.Dispose();
        foreach (var first in _firstPlace.Values) first.Dispose();
        _flags.Clear();
        _firstPlace.Clear();
    }
}
