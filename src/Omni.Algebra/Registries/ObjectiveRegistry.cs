using System.Collections.Immutable;
using LanguageExt;
using Omni.Algebra.Errors;
using Omni.Algebra.Objectives;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Registries;

/// <summary>
/// The loss and advantage-estimator registries and the algorithm → (estimator, loss) recipes, as one immutable
/// value. <see cref="Default"/> holds the reference's built-ins: losses <c>flow_grpo</c>, <c>dance_grpo</c>, <c>flow_dppo</c>,
/// <c>grpo_guard</c>, <c>dpo</c>, <c>diffusion_nft</c>, <c>kl</c>, <c>distill_kl</c>, <c>distill_fm_mse</c>; estimators
/// <c>flow_grpo</c>, <c>dance_grpo</c>; and a recipe for every algorithm name (the objectives that need no advantage
/// estimator of their own — DPO, DiffusionNFT, distillation — are paired with <c>flow_grpo</c>'s, which they ignore).
/// </summary>
/// <param name="Losses">Losses by name.</param>
/// <param name="Estimators">Advantage estimators by name.</param>
/// <param name="Recipes">Algorithm name → estimator and loss names; an algorithm without a recipe uses its own name for both.</param>
public sealed record ObjectiveRegistry(
    NamedRegistry<DiffusionLoss> Losses,
    NamedRegistry<AdvantageEstimator> Estimators,
    ImmutableSortedDictionary<string, AlgorithmRecipe> Recipes)
{
    /// <summary>An empty registry.</summary>
    public static ObjectiveRegistry Empty { get; } = new(
        new NamedRegistry<DiffusionLoss>("diffusion loss", (name, names) =>
            $"Unsupported diffusion loss mode: {name}. Supported modes are: [{string.Join(", ", names)}]"),
        new NamedRegistry<AdvantageEstimator>("diffusion advantage estimator", (name, names) =>
            $"Unknown diffusion advantage estimator: {name}. Supported: [{string.Join(", ", names)}]"),
        ImmutableSortedDictionary<string, AlgorithmRecipe>.Empty);

    /// <summary>The built-in objectives.</summary>
    public static ObjectiveRegistry Default { get; } = Empty
        .WithLoss(FlowGrpoLoss.Create("flow_grpo"))
        .WithLoss(FlowGrpoLoss.Create("dance_grpo"))
        .WithLoss(FlowDppoLoss.Create())
        .WithLoss(GrpoGuardLoss.Create())
        .WithLoss(DpoLoss.Create())
        .WithLoss(DiffusionNftLoss.Create())
        .WithLoss(KlLoss.Create())
        .WithLoss(DistillKlLoss.Create())
        .WithLoss(DistillFlowMatchingMseLoss.Create())
        .WithEstimator(new AdvantageEstimator("flow_grpo", GroupAdvantage.Compute)).OrThrow()
        .WithEstimator(new AdvantageEstimator("dance_grpo", GroupAdvantage.Compute)).OrThrow()
        .WithRecipe("flow_grpo", new("flow_grpo", "flow_grpo"))
        .WithRecipe("dance_grpo", new("dance_grpo", "dance_grpo"))
        .WithRecipe("mix_grpo", new("flow_grpo", "flow_grpo"))
        .WithRecipe("grpo_guard", new("flow_grpo", "grpo_guard"))
        .WithRecipe("flow_dppo", new("flow_grpo", "flow_dppo"))
        .WithRecipe("dpo", new("flow_grpo", "dpo"))
        .WithRecipe("diffusion_nft", new("flow_grpo", "diffusion_nft"))
        .WithRecipe("distill_kl", new("flow_grpo", "distill_kl"))
        .WithRecipe("distill_fm_mse", new("flow_grpo", "distill_fm_mse"));

    /// <summary>Registers (or replaces, as the reference does) a loss under its name.</summary>
    public ObjectiveRegistry WithLoss(DiffusionLoss loss) => this with { Losses = Losses.With(loss.Name, loss) };

    /// <summary>Registers an estimator; re-registering the same one is a no-op, a different one under a taken name an error.</summary>
    public Either<OmniError, ObjectiveRegistry> WithEstimator(AdvantageEstimator estimator) =>
        Estimators.Add(estimator.Name, estimator).Map(e => this with { Estimators = e });

    /// <summary>Maps an algorithm name to its estimator and loss.</summary>
    public ObjectiveRegistry WithRecipe(string algorithm, AlgorithmRecipe recipe) => this with { Recipes = Recipes.SetItem(algorithm, recipe) };

    /// <summary>The estimator and loss an algorithm trains with, or an error naming whichever is missing.</summary>
    public Either<OmniError, (AdvantageEstimator Estimator, DiffusionLoss Loss)> Resolve(string algorithm)
    {
        var recipe = Recipes.TryGetValue(algorithm, out var r) ? r : new AlgorithmRecipe(algorithm, algorithm);
        return from estimator in Estimators.Get(recipe.AdvantageEstimator)
               from loss in Losses.Get(recipe.Loss)
               select (estimator, loss);
    }

    /// <summary>
    /// Checks that <paramref name="inputs"/> carries every key the loss needs; the error names the loss and lists
    /// the missing and the available keys of each side that is incomplete.
    /// </summary>
    public static Either<OmniError, LossInputs> ValidateInputs(DiffusionLoss loss, LossInputs inputs)
    {
        var parts = new List<string>();
        void Check(string side, ImmutableArray<string> required, ImmutableDictionary<string, TorchSharp.torch.Tensor> present)
        {
            var missing = required.Where(k => !present.ContainsKey(k)).ToList();
            if (missing.Count == 0) return;
            parts.Add($"Missing {side} keys: [{string.Join(", ", missing.Select(k => $"'{k}'"))}].");
            parts.Add($"Available {side} keys: [{string.Join(", ", present.Keys.OrderBy(k => k, StringComparer.Ordinal))}].");
        }
        Check("model_output", loss.RequiredModelOutputs, inputs.ModelOutput);
        Check("data", loss.RequiredData, inputs.Data);
        return parts.Count == 0
            ? Right<OmniError, LossInputs>(inputs)
            : Left<OmniError, LossInputs>(new OmniError(ErrorKind.NotFound, $"Diffusion loss `{loss.Name}` is missing required inputs. {string.Join(" ", parts)}"));
    }

    /// <summary>Validates the inputs of the loss named <paramref name="name"/>, then computes it.</summary>
    public Either<OmniError, LossResult> Compute(string name, LossInputs inputs) =>
        from loss in Losses.Get(name)
        from valid in ValidateInputs(loss, inputs)
        from result in loss.Compute(valid)
        select result;
}
