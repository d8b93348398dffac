using System.Text.Json;
using Omni.Algebra.Errors;
using Omni.Algebra.Schedules;
using Omni.Effects.Diffusers;
using Omni.Facade.Pipelines;
using Omni.Models.Loading;
using Omni.Tests.Golden.Infrastructure;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Tests.Golden;

/// <summary>
/// Every diffusers pipeline folder under <c>pipelines/</c>, as a loader sees it: <c>model_index.json</c> names an
/// architecture Omni has adapters for and builds a pipeline; every component folder on disk is one the index lists and
/// Omni loads — the scheduler config with every key bound to the value in the file, the transformer and VAE strictly under
/// diffusers' parameter names. A component identical to a <c>models/</c> fixture is also run, loaded the pipeline's way, on
/// that fixture's stored inputs against its reference outputs. A folder or component Omni cannot load fails.
/// </summary>
[ChecksFixture("pipelines/")]
public sealed class PipelineFolderTests
{
    public static TheoryData<string> Folders =>
        [.. Directory.GetDirectories(Path.Combine(GoldenDirectory.Path, "pipelines")).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal)];

    private static string Folder(string name) => Path.Combine(GoldenDirectory.Path, "pipelines", name);

    [Theory, MemberData(nameof(Folders))]
    public void The_folder_builds_a_pipeline_and_every_component_on_disk_loads(string name)
    {
        var folder = Folder(name);
        var index = ModelFolder.ReadIndex(folder).OrThrow();
        var pipeline = OmniPipeline.FromFolder(folder).Build();
        Assert.Equal(index.Architecture, pipeline.Config.Architecture);
        var strayFiles = Directory.GetFiles(folder).Select(Path.GetFileName).Where(f => f != ModelFolder.ModelIndex).ToList();
        Assert.True(strayFiles.Count == 0, $"{name} holds files no test reads: {string.Join(", ", strayFiles)}.");
        foreach (var component in Directory.GetDirectories(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            Assert.True(index.Components.TryGetValue(component!, out var entry) && entry is not null,
                $"{name}/{component} is on disk but model_index.json does not list it as a component.");
            var (library, className) = entry!.Value;
            switch (component)
            {
                case "scheduler":
                    Assert.Equal(("diffusers", "FlowMatchEulerDiscreteScheduler"), (library, className));
                    SchedulerConfigMatchesItsFile(folder);
                    break;
                case "transformer":
                    using (var scope = NewDisposeScope())
                    {
                        var module = (nn.Module)TransformerLoader.Load(folder).OrThrow();
                        Assert.Equal(className, ClassOf(Path.Combine(folder, component, "config.json")));
                        RunIfAFixtureHasTheSameWeights(folder, component, module);
                    }
                    break;
                case "vae" when className == "AutoencoderKL":
                    using (var scope = NewDisposeScope())
                        RunIfAFixtureHasTheSameWeights(folder, component, VaeLoader.LoadAutoencoderKL(folder).OrThrow());
                    break;
                default:
                    Assert.Fail($"{name}/{component} ({library}.{className}) is a component Omni does not load, so no test checks it.");
                    break;
            }
        }
    }

    /// <summary>Every key of the folder's <c>scheduler_config.json</c> binds to the value the file states (none is ignored).</summary>
    private static void SchedulerConfigMatchesItsFile(string folder)
    {
        var config = ModelFolder.ReadSchedulerConfig(folder).OrThrow();
        using var file = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, ModelFolder.SchedulerConfigPath)));
        foreach (var entry in file.RootElement.EnumerateObject().Where(p => !p.Name.StartsWith('_')))
        {
            var property = typeof(SchedulerConfig).GetProperty(string.Concat(entry.Name.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..])));
            Assert.True(property is not null, $"{folder}: scheduler_config key '{entry.Name}' is not bound by SchedulerConfig.");
            var bound = property!.GetValue(config);
            object? stated = entry.Value.ValueKind switch
            {
                JsonValueKind.True or JsonValueKind.False => entry.Value.GetBoolean(),
                JsonValueKind.Null => null,
                JsonValueKind.String => entry.Value.GetString(),
                _ when bound is int => entry.Value.GetInt32(),
                _ => entry.Value.GetDouble(),
            };
            var boundValue = bound is TimeShiftType kind ? kind.ToString().ToLowerInvariant() : bound;
            Assert.True(Equals(stated, boundValue), $"{folder}: scheduler_config '{entry.Name}' is {entry.Value.GetRawText()} in the file but bound as {boundValue ?? "null"}.");
        }
    }

    private static string? ClassOf(string configFile)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(configFile));
        return json.RootElement.GetProperty("_class_name").GetString();
    }

    /// <summary>When a <c>models/</c> fixture ships the very same config and weights, its reference outputs apply to this component.</summary>
    private static void RunIfAFixtureHasTheSameWeights(string folder, string component, nn.Module module)
    {
        static byte[] Bytes(string dir, string file) => File.ReadAllBytes(Path.Combine(dir, file));
        var componentFolder = Path.Combine(folder, component);
        var twin = ModelFixtures.Entries().FirstOrDefault(m =>
            Bytes(m.Folder, "config.json").SequenceEqual(Bytes(componentFolder, "config.json"))
            && Bytes(m.Folder, "diffusion_pytorch_model.safetensors").SequenceEqual(Bytes(componentFolder, "diffusion_pytorch_model.safetensors")));
        if (twin is null) return;
        var outputs = ModelFixtures.Run(twin, module);
        foreach (var (key, reference) in ModelFixtures.Outputs(twin))
            TensorAssert.AbsolutelyClose(outputs[key], reference, TensorAssert.ModelAbsolute, $"{folder}/{component} (as {twin.Name}) {key}");
    }
}
