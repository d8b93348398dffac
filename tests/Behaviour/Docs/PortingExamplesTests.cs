namespace Omni.Tests.Behaviour.Docs;

/// <summary>Runs the code of docs/porting-from-python.md and checks what the document says about it.</summary>
public sealed class PortingExamplesTests
{
    [Fact]
    public void The_stateful_loop_runs_and_sample_previous_step_recomputes_the_rollouts_log_prob()
    {
        var (rollout, recomputed) = PortingExamples.StatefulLoop();
        Assert.True(float.IsFinite(rollout));
        Assert.Equal(rollout, recomputed);   // same step, same inputs: bit for bit
    }

    [Fact]
    public void The_pure_step_samples_a_latent_of_the_model_outputs_shape()
    {
        Assert.Equal(new long[] { 2, 4, 8, 8 }, PortingExamples.PureStep());
    }

    [Fact]
    public void Both_error_styles_carry_the_same_message()
    {
        var (value, exception) = PortingExamples.Errors();
        Assert.Contains("shift", value, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(value, exception);
    }
}
