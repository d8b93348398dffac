namespace Omni.Tests.Behaviour.Support;

/// <summary>A throw-away diffusers-style folder: <c>model_index.json</c> and <c>scheduler/scheduler_config.json</c>.</summary>
public sealed class TestModelFolder : IDisposable
{
    public TestModelFolder(string? modelIndex = "{\"_class_name\": \"TinyTestPipeline\", \"_diffusers_version\": \"0.40.0\"}",
                           string schedulerConfig = "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": 3.0, \"num_train_timesteps\": 1000}")
    {
        Path = Directory.CreateTempSubdirectory("omni-model-").FullName;
        if (modelIndex is not null) File.WriteAllText(System.IO.Path.Combine(Path, "model_index.json"), modelIndex);
        Directory.CreateDirectory(System.IO.Path.Combine(Path, "scheduler"));
        File.WriteAllText(System.IO.Path.Combine(Path, "scheduler", "scheduler_config.json"), schedulerConfig);
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
