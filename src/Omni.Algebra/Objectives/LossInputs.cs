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

/// <summary>A scalar loss (with its autograd graph) and the metrics the reference logs for it.</summary>
/// <param name="Loss">The 0-d loss tensor.</param>
/// <param name="Metrics">Named metrics such as <c>actor/ppo_kl</c>.</param>
public sealed record LossResult(Tensor Loss, ImmutableDictionary<string, double> Metrics);
