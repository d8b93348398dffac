using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Algebra.Sde;
using Omni.Effects.Random;
using static TorchSharp.torch;

namespace Omni.Facade.Scheduling;

/// <summary>
/// A stateful scheduler with the reference's <c>step()</c> and <c>sample_previous_step()</c> semantics, for porting
/// Python sampling loops line by line: <c>SetTimesteps</c>, optional <c>SetBeginIndex</c>, then <c>Step</c> once per
/// timestep while the scheduler advances its own step index, and <c>SamplePreviousStep</c> to recompute a stored step.
/// New code should prefer the pure <see cref="SdeStep.Sample"/> over an explicit <see cref="SchedulerState"/>, which
/// needs no hidden counter. Like the rest of the facade it throws <see cref="OmniException"/>; the core returns the same
/// errors as values. Each result owns its tensors: keep <c>result.PrevSample</c> across steps by not disposing that
/// result, or <c>clone()</c> what you keep before disposing it (docs/porting-from-python.md).
/// </summary>
public sealed class FlowMatchSdeScheduler
{
    private const string IntegerTimestepMessage =
        "Passing integer indices (e.g. from `enumerate(timesteps)`) as timesteps to `FlowMatchEulerDiscreteScheduler.step()` is not supported. Make sure to pass one of the `scheduler.timesteps` as a timestep.";

    private SchedulerState? _state;

    /// <summary>Creates a scheduler for a validated configuration; throws <see cref="OmniException"/> listing every invalid option.</summary>
    public FlowMatchSdeScheduler(SchedulerConfig config) => Config = config.Validate().OrThrow();

    /// <summary>The configuration.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>The schedule set by the last <see cref="SetTimesteps(TimestepRequest)"/>.</summary>
    public SchedulerState State => _state ?? throw new InvalidOperationException("Call SetTimesteps before stepping.");

    /// <summary>The index the next <see cref="Step(Tensor, float, Tensor, Generator?, double, Tensor?, SdeType, bool)"/> uses, once initialised.</summary>
    public int? StepIndex { get; private set; }

    /// <summary>The index set by <see cref="SetBeginIndex"/>, if any.</summary>
    public int? BeginIndex { get; private set; }

    /// <summary>Sets the inference schedule and resets the step and begin indices (as the reference does).</summary>
    public FlowMatchSdeScheduler SetTimesteps(TimestepRequest request)
    {
        _state = FlowMatchSchedule.SetTimesteps(Config, request).OrThrow();
        StepIndex = null;
        BeginIndex = null;
        return this;
    }

    /// <summary>Sets a default schedule of <paramref name="numInferenceSteps"/> steps.</summary>
    public FlowMatchSdeScheduler SetTimesteps(int numInferenceSteps, double? mu = null) =>
        SetTimesteps(TimestepRequest.Steps(numInferenceSteps, mu));

    /// <summary>Makes the first step start at <paramref name="index"/> instead of locating its timestep.</summary>
    public FlowMatchSdeScheduler SetBeginIndex(int index)
    {
        BeginIndex = index;
        return this;
    }

    /// <summary>
    /// One SDE step at <paramref name="timestep"/> (a value of <see cref="SchedulerState.Timesteps"/>);
    /// the step index is initialised from it on the first call, then advances by one per call. Noise is
    /// drawn from <paramref name="generator"/>; without one, pass <paramref name="prevSample"/> (Omni never
    /// draws from a hidden global generator).
    /// </summary>
    public StepResult Step(Tensor modelOutput, float timestep, Tensor sample, Generator? generator = null,
                           double noiseLevel = 0.7, Tensor? prevSample = null, SdeType sdeType = SdeType.Sde,
                           bool includeLogProbNormalizer = true)
    {
        var state = State;
        StepIndex ??= BeginIndex ?? TimestepIndex.Of(state, timestep).OrThrow();
        using var scope = NewDisposeScope();
        // step() casts the sample (and a given previous sample) to float32; sample_previous_step asserts it.
        var result = Sample(StepAt.Index(StepIndex.Value), sample.to(ScalarType.Float32), modelOutput, generator, noiseLevel,
                            prevSample?.to(ScalarType.Float32), sdeType, includeLogProbNormalizer);
        StepIndex += 1;
        return Outer(result);
    }

    /// <summary>
    /// The reference's <c>sample_previous_step(sample, model_output, timestep=None, generator=None, noise_level=0.7,
    /// prev_sample=None, sde_type="sde", include_logprob_normalizer=True)</c> with <c>return_sqrt_dt=True</c>: one SDE
    /// step that does <b>not</b> advance <see cref="StepIndex"/>. With <paramref name="timestep"/> null it is taken at
    /// <see cref="StepIndex"/> (or <see cref="BeginIndex"/> before the first <c>Step</c>); with a (B,) floating tensor of
    /// schedule timesteps each row is located by exact match, as in training recomputation. Give
    /// <paramref name="prevSample"/> to score a stored transition, or <paramref name="generator"/> to draw one.
    /// </summary>
    /// <exception cref="OmniException">No step index yet, integer timesteps, or inputs the step refuses (dtype, shape).</exception>
    public StepResult SamplePreviousStep(Tensor sample, Tensor modelOutput, Tensor? timestep = null, Generator? generator = null,
                                         double noiseLevel = 0.7, Tensor? prevSample = null, SdeType sdeType = SdeType.Sde,
                                         bool includeLogProbNormalizer = true)
    {
        StepAt at;
        if (timestep is null)
            at = StepAt.Index(StepIndex ?? BeginIndex ?? throw new OmniException([OmniError.Invalid(
                "sample_previous_step without a timestep uses the step index, which is not set yet: call Step first, SetBeginIndex, or pass timestep.")]));
        else if (!timestep.is_floating_point())
            throw new OmniException([OmniError.Invalid(IntegerTimestepMessage)]);
        else
            at = StepAt.Timesteps(timestep.dim() == 0 ? timestep.reshape(1).expand(sample.shape[0]) : timestep);
        using var scope = NewDisposeScope();
        return Outer(Sample(at, sample, modelOutput, generator, noiseLevel, prevSample, sdeType, includeLogProbNormalizer));
    }

    private StepResult Sample(StepAt at, Tensor sample, Tensor modelOutput, Generator? generator, double noiseLevel,
                              Tensor? prevSample, SdeType sdeType, bool includeLogProbNormalizer)
    {
        NextSample next;
        if (prevSample is not null)
        {
            next = NextSample.PrevSample(prevSample);
        }
        else
        {
            // diffusers' randn_tensor with one CPU generator: one draw of the whole shape, then moved to the device.
            var source = generator is null
                ? throw new ArgumentNullException(nameof(generator), "Pass a generator (or the previous sample): Omni never draws from a hidden global RNG.")
                : NoiseSource.From(generator);
            next = NextSample.FromNoise(source.Draw(modelOutput.shape, ScalarType.Float32, modelOutput.device));
        }
        return SdeStep.Sample(State, sdeType, at, sample, modelOutput, noiseLevel, next, includeLogProbNormalizer).OrThrow();
    }

    private static StepResult Outer(StepResult result) => new(
        result.PrevSample.MoveToOuterDisposeScope(), result.LogProb.MoveToOuterDisposeScope(),
        result.PrevSampleMean.MoveToOuterDisposeScope(), result.StdDevT.MoveToOuterDisposeScope(),
        result.SqrtDt.MoveToOuterDisposeScope());

    /// <summary>The tensor-timestep form of <see cref="Step(Tensor, float, Tensor, Generator?, double, Tensor?, SdeType, bool)"/>; integer tensors are rejected like the reference rejects them.</summary>
    public StepResult Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null,
                           double noiseLevel = 0.7, Tensor? prevSample = null, SdeType sdeType = SdeType.Sde,
                           bool includeLogProbNormalizer = true)
    {
        if (!timestep.is_floating_point()) throw new OmniException([OmniError.Invalid(IntegerTimestepMessage)]);
        if (timestep.numel() != 1) throw new OmniException([OmniError.Invalid($"step() takes one timestep, got shape ({string.Join(", ", timestep.shape)}).")]);
        return Step(modelOutput, timestep.to(ScalarType.Float32).cpu().item<float>(), sample, generator, noiseLevel, prevSample, sdeType, includeLogProbNormalizer);
    }

    /// <summary>Rejects an integer step index passed as a timestep, as the reference does (C# would otherwise convert it silently).</summary>
    public StepResult Step(Tensor modelOutput, int timestep, Tensor sample, Generator? generator = null,
                           double noiseLevel = 0.7, Tensor? prevSample = null, SdeType sdeType = SdeType.Sde,
                           bool includeLogProbNormalizer = true) =>
        throw new OmniException([OmniError.Invalid(IntegerTimestepMessage + $" (got the integer {timestep})")]);
}
