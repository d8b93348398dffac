// begin-snippet: usings
using LanguageExt;                 // Either, Validation (LanguageExt.Core)
using Omni.Algebra.Errors;         // OmniError, OmniException, OrThrow()
using Omni.Algebra.Schedules;      // SchedulerConfig, FlowMatchSchedule, TimestepRequest
using Omni.Algebra.Sde;            // SdeStep, SdeType, StepAt, NextSample, StepResult
using Omni.Effects.Random;         // Generators, NoiseSource
using Omni.Facade.Scheduling;      // FlowMatchSdeScheduler
using static TorchSharp.torch;     // randn, full, Tensor, NewDisposeScope
// end-snippet

namespace Omni.Tests.Behaviour.Docs;

/// <summary>
/// The code of docs/porting-from-python.md. Each region between "begin-snippet: name" and "end-snippet" appears in the
/// document verbatim (DocSnippetTests checks it), is compiled here and run by <see cref="PortingExamplesTests"/>.
/// </summary>
public static class PortingExamples
{
    /// <summary>A stand-in for the model: any function (x, t) → velocity.</summary>
    public static Tensor Model(Tensor x, float t) => x.mul(0.5f).add(t / 1000f);

    /// <summary>The stateful loop and the recomputation of one stored step; returns both log-probs of that step.</summary>
    public static (float Rollout, float Recomputed) StatefulLoop()
    {
        // begin-snippet: stateful-loop
        using var scope = NewDisposeScope();                                   // frees every tensor made below at the end
        var scheduler = new FlowMatchSdeScheduler(new SchedulerConfig { Shift = 3.0 }).SetTimesteps(8).SetBeginIndex(0);
        var generator = Generators.Seeded(42);                                 // torch.Generator().manual_seed(42)
        var x = randn([2, 4, 8, 8], generator: Generators.Seeded(0));
        var latents = new List<Tensor> { x };
        var logProbs = new List<Tensor>();
        foreach (var t in scheduler.State.Timesteps)
        {
            var v = Model(x, t);
            var step = scheduler.Step(v, t, x, generator, noiseLevel: 0.7);    // no `using`: x must outlive this step
            x = step.PrevSample;
            latents.Add(x);
            logProbs.Add(step.LogProb);
        }

        // Recompute step 3 from the stored trajectory, as training does.
        var k = 3;
        var timestep = full(2, scheduler.State.Timesteps[k], ScalarType.Float32);
        var again = scheduler.SamplePreviousStep(latents[k], Model(latents[k], scheduler.State.Timesteps[k]),
                                                 timestep: timestep, prevSample: latents[k + 1], noiseLevel: 0.7);
        // end-snippet
        return (logProbs[k][0].item<float>(), again.LogProb[0].item<float>());
    }

    /// <summary>The same step through the pure API; returns the sampled latent's shape.</summary>
    public static long[] PureStep()
    {
        // begin-snippet: pure-step
        var schedule = FlowMatchSchedule.SetTimesteps(new SchedulerConfig { Shift = 3.0 }, TimestepRequest.Steps(8)).OrThrow();
        using var scope = NewDisposeScope();
        var sample = randn([2, 4, 8, 8], generator: Generators.Seeded(0));
        var velocity = Model(sample, schedule.Timesteps[0]);
        var noise = NoiseSource.Seeded(42).Draw(velocity.shape);               // randn_tensor(shape, generator=g)
        Either<OmniError, StepResult> result =
            SdeStep.Sample(schedule, SdeType.Sde, StepAt.Index(0), sample, velocity, noiseLevel: 0.7, NextSample.FromNoise(noise));
        var step = result.Match(r => r, error => throw new InvalidOperationException(error.Message));   // or result.OrThrow()
        // end-snippet
        return step.PrevSample.shape;
    }

    /// <summary>What an error looks like in each style; returns (the value's message, the exception's message).</summary>
    public static (string Value, string Exception) Errors()
    {
        // begin-snippet: errors
        var invalid = new SchedulerConfig { Shift = -1 };
        Validation<OmniError, SchedulerConfig> checkedConfig = invalid.Validate();    // core: errors are values
        var messages = checkedConfig.Match(Succ: _ => "", Fail: errors => string.Join("; ", errors.Map(e => e.Message)));
        try
        {
            _ = new FlowMatchSdeScheduler(invalid);                               // facade: an OmniException listing them
        }
        catch (OmniException e)
        {
            Console.Error.WriteLine(e.Message);
            return (messages, e.Message);
        }
        // end-snippet
        return (messages, "");
    }
}
