using Omni.Algebra.Adapters;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Adapters;

/// <summary>
/// A stand-in model that records the arguments an adapter passes and answers with a constant per encoder input, so a
/// test can see exactly what reaches the model and how an adapter combines the answers (guidance).
/// </summary>
/// <param name="answer">The prediction for a call, given its arguments.</param>
public sealed class RecordingDenoiser(Func<ModelInputs, Tensor> answer) : IDenoiser
{
    /// <summary>Every call's arguments, in order.</summary>
    public List<ModelInputs> Calls { get; } = [];

    /// <inheritdoc />
    public Tensor Forward(ModelInputs inputs)
    {
        Calls.Add(inputs);
        return answer(inputs);
    }
}
