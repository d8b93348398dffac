using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Objectives;

/// <summary>
/// What a loss sees for one trained step (or one forward-process micro-batch), under the reference's key names: the current
/// policy's outputs (<c>log_probs</c>, <c>prev_sample_mean</c>, <c>std_dev_t</c>, <c>sqrt_dt</c>; <c>noise_pred</c>, <c>noise</c>,
/// <c>latent</c>; <c>forward_prediction</c>, <c>old_prediction</c>, <c>ref_forward_prediction</c>, <c>x0</c>, <c>xt</c>,
/// <c>t_expanded</c>) and the batch data (<c>old_log_probs</c>, <c>advantages</c>, <c>old_prev_sample_mean</c>,
/// <c>ref_prev_sample_mean</c>, <c>teacher_prev_sample_mean</c>, <c>teacher_noise_pred</c>, <c>ref_noise_pred</c>,
/// <c>sample_level_rewards</c>, <c>reward_prob</c>, <c>rollout_is_weights</c>).
/// </summary>
/// <param name="ModelOutput">The current policy's outputs by name.</param>
/// <param name="Data">The batch's stored tensors by name.</param>
/// <param name="Settings">The loss settings.</param>
public sealed record LossInputs(ImmutableDictionary<string, Tensor> ModelOutput, ImmutableDictionary<string, Tensor> Data, LossSettings Settings)
{
    /// <summary>The prompt uid of each row (the reference's non-tensor <c>uid</c>), when the caller has them.</summary>
    public ImmutableArray<string>? GroupIds { get; init; }

    /// <summary>A model output that <see cref="Registries.ObjectiveRegistry.ValidateInputs"/> has checked is present.</summary>
    public Tensor Output(string key) => ModelOutput[key];

    /// <summary>A data tensor that <see cref="Registries.ObjectiveRegistry.ValidateInputs"/> has checked is present.</summary>
    public Tensor Datum(string key) => Data[key];

    /// <summary>An optional data tensor.</summary>
    public Tensor? OptionalDatum(string key) => Data.TryGetValue(key, out var t) ? t : null;
}

/// <summary>
/// A scalar loss (with its autograd graph) and the metrics the reference logs for it. Built-in losses keep their metrics
/// on the loss's device (<see cref="DeviceMetrics"/>, detached 0-d float32 tensors) so a trainer can accumulate them there
/// and read them once per update; <see cref="Metrics"/> reads them to the host in one batched transfer when asked.
/// </summary>
public sealed record LossResult
{
    private readonly ImmutableDictionary<string, double> _hostMetrics;
    private ImmutableDictionary<string, double>? _read;

    /// <summary>A loss with metrics already on the host (custom losses may simply do this).</summary>
    public LossResult(Tensor loss, ImmutableDictionary<string, double> metrics) =>
        (Loss, _hostMetrics, DeviceMetrics) = (loss, metrics, ImmutableDictionary<string, Tensor>.Empty);

    /// <summary>A loss with metrics left on the device (detached 0-d tensors).</summary>
    public LossResult(Tensor loss, ImmutableDictionary<string, Tensor> deviceMetrics) =>
        (Loss, _hostMetrics, DeviceMetrics) = (loss, ImmutableDictionary<string, double>.Empty, deviceMetrics);

    /// <summary>The 0-d loss tensor.</summary>
    public Tensor Loss { get; }

    /// <summary>Metrics reported as host values (read nothing).</summary>
    public ImmutableDictionary<string, double> HostMetrics => _hostMetrics;

    /// <summary>Metrics still on the device, by name (empty for losses that report host values).</summary>
    public ImmutableDictionary<string, Tensor> DeviceMetrics { get; }

    /// <summary>Every metric as a host value, such as <c>actor/ppo_kl</c> (device metrics read in one transfer, once).</summary>
    public ImmutableDictionary<string, double> Metrics => _read ??= _hostMetrics.SetItems(ReadAll(DeviceMetrics));

    /// <summary>Reads 0-d tensors to the host with one transfer.</summary>
    public static ImmutableDictionary<string, double> ReadAll(IReadOnlyDictionary<string, Tensor> values)
    {
        if (values.Count == 0) return ImmutableDictionary<string, double>.Empty;
        using var scope = NewDisposeScope();
        var keys = values.Keys.ToArray();
        var host = stack(keys.Select(k => values[k].detach().to(ScalarType.Float64).reshape(1)).ToArray()).cpu().data<double>().ToArray();
        return keys.Select((k, i) => (k, host[i])).ToImmutableDictionary(p => p.k, p => p.Item2);
    }
}
