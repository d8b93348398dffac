using System.Globalization;
using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Algebra.Devices;

/// <summary>What kind of device a run asks for.</summary>
public enum DeviceKind
{
    /// <summary>CUDA when it comes up in this process, otherwise the CPU.</summary>
    Auto,
    /// <summary>The CPU, through the bundled libtorch CPU build.</summary>
    Cpu,
    /// <summary>A CUDA device; failing to bring it up is an error, never a silent CPU run.</summary>
    Cuda,
}

/// <summary>
/// The device a user asked for: <c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> (the same spelling as PyTorch's
/// device strings). A request, not a device: whether CUDA comes up is decided by the backend selection in
/// <c>Omni.Effects.Devices</c>.
/// </summary>
/// <param name="Kind">Auto, CPU or CUDA.</param>
/// <param name="Index">The CUDA device ordinal for <c>cuda:N</c>; null for plain <c>cuda</c> (device 0) and the others.</param>
public sealed record DeviceRequest(DeviceKind Kind, int? Index = null)
{
    /// <summary>The accepted spellings, for messages.</summary>
    public const string Spellings = "auto, cpu, cuda or cuda:N";

    /// <summary><c>auto</c>: CUDA when available, else the CPU.</summary>
    public static DeviceRequest Auto { get; } = new(DeviceKind.Auto);

    /// <summary><c>cpu</c>.</summary>
    public static DeviceRequest Cpu { get; } = new(DeviceKind.Cpu);

    /// <summary><c>cuda</c> or <c>cuda:N</c>.</summary>
    public static DeviceRequest Cuda(int? index = null) => new(DeviceKind.Cuda, index);

    /// <summary>Whether a CUDA backend is wanted (explicitly or as the first choice of <c>auto</c>).</summary>
    public bool WantsCuda => Kind != DeviceKind.Cpu;

    /// <summary>The CUDA ordinal to use when CUDA comes up.</summary>
    public int CudaOrdinal => Index ?? 0;

    /// <summary>Parses a device string; case and surrounding spaces are ignored.</summary>
    public static Either<OmniError, DeviceRequest> Parse(string? text)
    {
        var value = (text ?? "").Trim().ToLowerInvariant();
        if (value == "auto") return Auto;
        if (value == "cpu") return Cpu;
        if (value == "cuda") return Cuda();
        if (value.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            return Cuda(index);
        return Left<OmniError, DeviceRequest>(OmniError.Invalid($"Unknown device '{text}'. Use {Spellings}."));
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        DeviceKind.Auto => "auto",
        DeviceKind.Cpu => "cpu",
        _ => Index is { } i ? $"cuda:{i}" : "cuda",
    };
}
