using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Objectives;

/// <summary>
/// DiffusionNFT (Zheng et al., 2025; registered as <c>diffusion_nft</c>): a forward-process objective on re-noised clean
/// latents <c>x_t = (1 − t)·x₀ + t·ε</c>. With β = <c>mix_beta</c>, the implicit positive and negative policies are
/// <c>v⁺ = β·v_θ + (1 − β)·v_old</c> and <c>v⁻ = (1 + β)·v_old − β·v_θ</c>; each predicts <c>x̂₀± = x_t − t·v±</c> and is
/// scored by its x₀ error over an adaptive weight <c>w± = max(mean|x̂₀± − x₀|, adaptive_weight_min)</c>:
/// <c>L± = mean((x̂₀± − x₀)²/w±)</c>, <c>ℓ = (p·L⁺ + (1 − p)·L⁻)/β</c> with the reward probability p, and
/// <c>L = mean_b(ℓ·adv_clip_max) + ref_kl_coef·mean((v_θ − v_ref)²)</c>.
/// </summary>
public static class DiffusionNftLoss
{
    /// <summary>The loss as registered under <c>diffusion_nft</c>.</summary>
    public static DiffusionLoss Create() =>
        DiffusionLoss.Total("diffusion_nft", ["forward_prediction", "old_prediction", "ref_forward_prediction", "x0", "xt", "t_expanded"], ["reward_prob"], Compute)
        with { Flow = LossFlow.ForwardProcess };

    /// <summary>Computes the loss and the reference's seven metrics for one training timestep.</summary>
    public static LossResult Compute(LossInputs inputs)
    {
        var settings = inputs.Settings;
        var beta = settings.MixBeta;
        var current = inputs.Output("forward_prediction");
        var old = inputs.Output("old_prediction").detach();
        var reference = inputs.Output("ref_forward_prediction").detach();
        var x0 = inputs.Output("x0");
        var xt = inputs.Output("xt");
        var t = inputs.Output("t_expanded");
        var probability = inputs.Datum("reward_prob");
        if (probability.dim() > 1) probability = probability.flatten(1).mean([1]);
        probability = probability.to(x0.dtype, x0.device);

        long[] dims = [.. Enumerable.Range(1, (int)x0.dim() - 1).Select(d => (long)d)];
        var positive = beta * current + (1.0 - beta) * old;
        var negative = (1.0 + beta) * old - beta * current;
        var positiveX0 = xt - t * positive;
        var negativeX0 = xt - t * negative;
        Tensor positiveWeight, negativeWeight;
        using (no_grad())
        {
            positiveWeight = AdaptiveWeight(positiveX0, x0, dims, settings.AdaptiveWeightMin);
            negativeWeight = AdaptiveWeight(negativeX0, x0, dims, settings.AdaptiveWeightMin);
        }
        var positiveLoss = ((positiveX0 - x0).pow(2) / positiveWeight).mean(dims);
        var negativeLoss = ((negativeX0 - x0).pow(2) / negativeWeight).mean(dims);
        var perSample = probability * positiveLoss / beta + (1.0 - probability) * negativeLoss / beta;
        var policyLoss = (perSample * settings.AdvantageClipMax).mean();
        var referenceLoss = (current - reference).pow(2).mean(dims).mean();
        var loss = policyLoss + settings.RefKlCoefficient * referenceLoss;

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var metrics = ImmutableDictionary<string, double>.Empty
            .Add("actor/policy_loss", policyLoss.detach().item<float>())
            .Add("actor/positive_loss", positiveLoss.detach().mean().item<float>())
            .Add("actor/negative_loss", negativeLoss.detach().mean().item<float>())
            .Add("actor/ref_kl_loss", referenceLoss.detach().item<float>())
            .Add("actor/old_deviate", (current.detach() - old).pow(2).mean().item<float>())
            .Add("actor/reward_prob_mean", probability.detach().mean().item<float>())
            .Add("actor/total_loss", loss.detach().item<float>());
        return new LossResult(loss, metrics);
    }

    /// <summary><c>max(mean|x̂₀ − x₀|, floor)</c> per sample (keeping dims), accumulated in float64 as the reference does.</summary>
    private static Tensor AdaptiveWeight(Tensor predicted, Tensor x0, long[] dims, double floor) =>
        (predicted.to(ScalarType.Float64) - x0.to(ScalarType.Float64)).abs().mean(dims, keepdim: true).clamp_min(floor).to(predicted.dtype);
}
