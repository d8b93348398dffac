namespace Omni.Effects.Devices;

/// <summary>A folder that may hold a CUDA build of libtorch, and how it was found (for messages).</summary>
/// <param name="Folder">The folder (a PyTorch install's <c>torch/lib</c>, or <c>libtorch/lib</c>).</param>
/// <param name="Origin">Where it came from: <c>OMNI_LIBTORCH_DIR</c>, the <c>omni:libtorch_dir</c> setting, an interpreter, a search path.</param>
public sealed record LibTorchCandidate(string Folder, string Origin);

/// <summary>What the inspection of a candidate folder found, before anything was loaded from it.</summary>
/// <param name="Candidate">The folder inspected.</param>
/// <param name="Version">The PyTorch/libtorch version, when the folder says (<c>../version.py</c> or <c>../build-version</c>).</param>
/// <param name="Problem">Why it cannot be used, or null when it can.</param>
public sealed record LibTorchInspection(LibTorchCandidate Candidate, string? Version, string? Problem)
{
    /// <summary>Whether CUDA may be brought up from this folder.</summary>
    public bool Usable => Problem is null;

    /// <summary>One line for a report: the folder, its origin and the verdict.</summary>
    public string Describe() =>
        $"{Candidate.Folder} ({Candidate.Origin}): " + (Problem ?? $"usable, PyTorch {Version ?? "of unknown version"} with CUDA");
}
