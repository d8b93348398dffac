using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Models.Common;

/// <summary>A model that keeps some parts in float32 when cast to half precision (diffusers' <c>_keep_in_fp32_modules</c>).</summary>
public interface IKeepsFloat32Parts
{
    /// <summary>Casts the model to <paramref name="dtype"/>, except the parts it keeps in float32.</summary>
    void CastTo(ScalarType dtype);
}

/// <summary>Casting models to a compute dtype.</summary>
public static class Precision
{
    /// <summary>Casts <paramref name="module"/> to <paramref name="dtype"/>, honouring <see cref="IKeepsFloat32Parts"/>.</summary>
    public static void Cast(nn.Module module, ScalarType dtype)
    {
        if (module is IKeepsFloat32Parts mixed) mixed.CastTo(dtype);
        else module.to(dtype);
    }
}
