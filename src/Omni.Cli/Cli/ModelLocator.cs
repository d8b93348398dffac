using Omni.Algebra.Errors;
using Omni.Effects.Diffusers;

namespace Omni.Cli.Cli;

/// <summary>Finds pipeline folders: the bundled shapes model by default, and tells shapes folders from diffusers ones.</summary>
public static class ModelLocator
{
    /// <summary>The bundled model's folder, relative to the repository root.</summary>
    public const string BundledModel = Omni.Shapes.Pipeline.ShapesPipelineFolder.BundledRelativePath;

    /// <summary>The folder to use: the one given, else the bundled model (looked up from the working directory, then above the executable).</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist (the message says what was looked for).</exception>
    public static string Resolve(string? given)
    {
        if (given is not null)
            return Directory.Exists(given) ? given : throw new DirectoryNotFoundException($"The model folder '{given}' does not exist.");
        if (Directory.Exists(BundledModel)) return BundledModel;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, BundledModel);
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"The bundled model '{BundledModel}' was not found (run from the repository root, or pass --model <folder>; `omni pretrain` recreates it).");
    }

    /// <summary>True when the folder's model_index.json names Omni's shapes pipeline (false when it has none).</summary>
    /// <exception cref="OmniException">The folder's <c>model_index.json</c> cannot be read (the message names the file and, for malformed JSON, the position).</exception>
    public static bool IsShapes(string folder) =>
        File.Exists(Path.Combine(folder, ModelFolder.ModelIndex))
        && ModelFolder.ReadArchitecture(folder).OrThrow() == Omni.Shapes.Pipeline.ShapesPipeline.ClassName;
}
