using Omni.Algebra.Adapters;

namespace Omni.Shapes.Pipeline;

/// <summary>Registers the shapes model's adapters when <c>Omni.Shapes</c> is named as an external assembly.</summary>
public sealed class ShapesPlugin : IOmniPlugin
{
    /// <inheritdoc />
    public AdapterRegistries Register(AdapterRegistries registries) => ShapesAdapter.Register(registries);
}
