namespace Omni.Algebra.Adapters;

/// <summary>
/// What selects a pair of adapters: the pipeline's architecture (<c>model_index.json</c> <c>_class_name</c>) and
/// the algorithm name. Ordered by architecture, then algorithm (ordinal), as the reference sorts its key list.
/// </summary>
/// <param name="Architecture">e.g. <c>QwenImagePipeline</c>.</param>
/// <param name="Algorithm">e.g. <c>flow_grpo</c>.</param>
public readonly record struct AdapterKey(string Architecture, string Algorithm) : IComparable<AdapterKey>
{
    /// <inheritdoc />
    public int CompareTo(AdapterKey other)
    {
        var byArchitecture = string.CompareOrdinal(Architecture, other.Architecture);
        return byArchitecture != 0 ? byArchitecture : string.CompareOrdinal(Algorithm, other.Algorithm);
    }

    /// <summary>The reference's rendering: <c>('Architecture', 'algorithm')</c>.</summary>
    public override string ToString() => $"('{Architecture}', '{Algorithm}')";
}
