namespace Omni.Tests.Behaviour.Support;

/// <summary>
/// The golden fixtures vendored in <c>tests/Golden/Fixtures</c>, used here only as realistic inputs (tiny diffusers
/// folders with real parameter names). Behaviour tests never compare with their reference outputs — the golden suite
/// does — and always read the vendored copy, whatever <c>OMNI_GOLDEN_DIR</c> says.
/// </summary>
public static class VendoredFixtures
{
    /// <summary>The vendored fixture folder.</summary>
    public static string Path { get; } = Find();

    /// <summary>A pipeline folder of the fixtures (<c>pipelines/NAME</c>).</summary>
    public static string Pipeline(string name) => System.IO.Path.Combine(Path, "pipelines", name);

    /// <summary>A model folder of the fixtures (<c>models/NAME</c>).</summary>
    public static string Model(string name) => System.IO.Path.Combine(Path, "models", name);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "tests", "Golden", "Fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"No tests/Golden/Fixtures folder above {AppContext.BaseDirectory}.");
    }
}

/// <summary>A Wan pipeline folder assembled around the vendored tiny Wan transformer (the fixtures ship no Wan pipeline folder).</summary>
public sealed class WanTestFolder : IDisposable
{
    /// <summary>Creates the folder: <c>model_index.json</c>, a shift-1 scheduler and the tiny transformer.</summary>
    public WanTestFolder()
    {
        File.WriteAllText(System.IO.Path.Combine(Path, "model_index.json"), "{\"_class_name\": \"WanPipeline\"}");
        Directory.CreateDirectory(System.IO.Path.Combine(Path, "scheduler"));
        File.WriteAllText(System.IO.Path.Combine(Path, "scheduler", "scheduler_config.json"), "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": 1.0}");
        var transformer = Directory.CreateDirectory(System.IO.Path.Combine(Path, "transformer")).FullName;
        foreach (var file in new[] { "config.json", "diffusion_pytorch_model.safetensors" })
            File.Copy(System.IO.Path.Combine(VendoredFixtures.Model("wan_tiny"), file), System.IO.Path.Combine(transformer, file));
    }

    /// <summary>The folder.</summary>
    public string Path { get; } = Directory.CreateTempSubdirectory("omni-wan-").FullName;

    /// <inheritdoc />
    public void Dispose() => Directory.Delete(Path, recursive: true);
}
