using Omni.Training.Run;
using TorchSharp;

namespace Omni.Tests.Behaviour.Training;

/// <summary>A training step leaves no tensors behind: after warm-up, live-tensor counts do not grow step over step.</summary>
public sealed class TrainerLeakTests
{
    private static long Live() => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    [Fact]
    public async Task Steps_do_not_leak_tensors()
    {
        using var fixture = new TrainingFixture();
        var options = TrainingFixture.Quick(6) with { EmaDecay = 0.9, UseKl = true, InnerEpochs = 2, OverlapRewards = false };
        using var reference = new Omni.Tests.Behaviour.Support.TinyPolicy(TrainingFixture.PromptWidth, 5);
        var setup = fixture.Setup(options);
        setup = setup with { Policy = setup.Policy with { Reference = reference } };
        using var trainer = FlowGrpoTrainer.Create(setup);
        await AssertNoGrowthOverTwoSteps(trainer, "FlowGRPO");
    }

    [Theory]
    [InlineData("dpo")]
    [InlineData("diffusion_nft")]
    [InlineData("distill_fm_mse")]
    [InlineData("flow_dppo")]
    public async Task Every_objectives_steps_do_not_leak_tensors(string loss)
    {
        using var fixture = new TrainingFixture();
        using var reference = new Omni.Tests.Behaviour.Support.TinyPolicy(TrainingFixture.PromptWidth, 5);
        using var teacher = new Omni.Tests.Behaviour.Support.TinyPolicy(TrainingFixture.PromptWidth, 9);
        // An EMA old policy makes NFT swap weights in and out; a reference term makes it run the reference pass.
        var options = TrainingFixture.Quick(6) with
        {
            LossMode = loss, OverlapRewards = false, OldPolicyDecaySchedule = "linear_to_0_5", RefKlCoefficient = loss == "diffusion_nft" ? 0.1 : 0,
            TimestepFraction = 0.5,
        };
        var setup = fixture.Setup(options);
        setup = setup with { Policy = setup.Policy with { Reference = reference, Teacher = loss.StartsWith("distill", StringComparison.Ordinal) ? teacher : null } };
        using var trainer = FlowGrpoTrainer.Create(setup);
        await AssertNoGrowthOverTwoSteps(trainer, loss);
    }

    /// <summary>
    /// Two warm-up steps, then two more that must not leave more live tensors behind. Inline rewards complete
    /// synchronously, so the whole step runs on this thread and its counts are comparable.
    /// </summary>
    private static async Task AssertNoGrowthOverTwoSteps(FlowGrpoTrainer trainer, string what)
    {
        await trainer.StepAsync();
        await trainer.StepAsync();
        var before = Live();
        await trainer.StepAsync();
        await trainer.StepAsync();
        var after = Live();
        Assert.True(after <= before, $"{what}: live tensors grew from {before} to {after} over two training steps");
    }
}
