using Omni.Algebra.Errors;
using Omni.Effects.Diffusers;
using Omni.Tests.Golden.Infrastructure;

namespace Omni.Tests.Golden;

/// <summary>The golden pipeline folders as a loader sees them: <c>model_index.json</c> components (null entries included) and the scheduler config.</summary>
public sealed class PipelineFolderTests
{
    private static string Folder(string name) => Path.Combine(GoldenDirectory.Path, "pipelines", name);

    [Fact]
    public void The_sd3_index_lists_its_components_and_the_ones_it_does_not_ship()
    {
        var index = ModelFolder.ReadIndex(Folder("sd3_tiny_pipe")).OrThrow();
        Assert.Equal("StableDiffusion3Pipeline", index.Architecture);
        Assert.Equal(("diffusers", "SD3Transformer2DModel"), index.Components["transformer"]);
        Assert.Equal(("diffusers", "AutoencoderKL"), index.Components["vae"]);
        Assert.True(index.Components.ContainsKey("text_encoder_3"));
        Assert.False(index.Has("text_encoder_3"));
        Assert.True(index.Has("scheduler"));
        var scheduler = ModelFolder.ReadSchedulerConfig(Folder("sd3_tiny_pipe")).OrThrow();
        Assert.Equal(3.0, scheduler.Shift);
    }

    [Fact]
    public void The_qwen_image_index_and_scheduler_config_load()
    {
        var index = ModelFolder.ReadIndex(Folder("qwenimage_tiny_pipe")).OrThrow();
        Assert.Equal("QwenImagePipeline", index.Architecture);
        Assert.Equal(("transformers", "Qwen2_5_VLForConditionalGeneration"), index.Components["text_encoder"]);
        var scheduler = ModelFolder.ReadSchedulerConfig(Folder("qwenimage_tiny_pipe")).OrThrow();
        Assert.True(scheduler.UseDynamicShifting);
        Assert.Equal(0.02, scheduler.ShiftTerminal);
        Assert.Equal(8192, scheduler.MaxImageSeqLen);
    }
}
