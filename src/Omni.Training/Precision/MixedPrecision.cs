using Omni.Algebra.Devices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Training.Precision;

/// <summary>
/// The weights a training run keeps, by <see cref="TrainingPrecision"/>. Under <c>Float32</c> the trained parameters are
/// their own masters and every method here is a no-op. Under <c>Bf16Mixed</c> the model (and any frozen companion, such
/// as the KL reference) computes in bfloat16, except the parts a model keeps in float32, while float32 copies of the
/// trained parameters — the masters — are what the optimizer, the EMA, gradient clipping, checkpoints and exports see:
/// after each backward pass the bfloat16 gradients are added into the masters' float32 gradients (so accumulation over
/// micro-batches happens in float32), and after each optimizer step the masters are rounded into the model.
/// Scheduler maths, log-probs and losses are float32 either way (the adapters cast the model's prediction).
/// The frozen tensors the cast rounds (untrained parameters and floating buffers that were not bfloat16 already) are kept
/// as host copies, so that evaluations and exports see them exactly as loaded — a merged LoRA export's base weights
/// included. That costs host memory equal to those tensors' loaded size, and nothing when the model was loaded in bfloat16.
/// </summary>
public sealed class MixedPrecision : IDisposable
{
    private readonly nn.Module _module;
    private readonly IReadOnlyList<(string Name, Parameter Parameter)> _masters;
    private readonly bool _ownsMasters;
    // The frozen tensors as loaded, on the host, by state-dict name: restored whenever the model is lifted to float32.
    private readonly IReadOnlyList<(string Name, Tensor Original)> _frozenOriginals;
    // How many WithFloat32Weights calls are running: a nested call (an export inside an evaluation) finds the model in float32
    // already and must leave it so.
    private int _float32Depth;

    private MixedPrecision(nn.Module module, TrainingPrecision mode, IReadOnlyList<(string Name, Parameter Parameter)> masters, bool ownsMasters,
                           IReadOnlyList<(string Name, Tensor Original)> frozenOriginals) =>
        (_module, Mode, _masters, _ownsMasters, _frozenOriginals) = (module, mode, masters, ownsMasters, frozenOriginals);

    /// <summary>The arithmetic of the run.</summary>
    public TrainingPrecision Mode { get; }

    /// <summary>The dtype the model computes in.</summary>
    public ScalarType ComputeType => Mode == TrainingPrecision.Bf16Mixed ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary>The float32 trained tensors, by parameter name, in the model's order: what the optimizer updates.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Masters => _masters;

    /// <summary>
    /// Prepares <paramref name="module"/>'s trainable parameters (those with <c>requires_grad</c>) for <paramref name="mode"/>;
    /// under bf16-mixed also casts it and <paramref name="companions"/> (frozen modules run beside it) to bfloat16. Call it
    /// after moving the module to its device and attaching adapters, and build the optimizer over <see cref="Masters"/>.
    /// </summary>
    public static MixedPrecision Prepare(nn.Module module, TrainingPrecision mode, params nn.Module?[] companions)
    {
        var trainable = module.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        if (mode == TrainingPrecision.Float32) return new MixedPrecision(module, mode, trainable, ownsMasters: false, []);
        List<(string, Parameter)> masters;
        List<(string, Tensor)> frozenOriginals;
        using (no_grad())
        {
            masters = trainable.Select(p => (p.name, new Parameter(p.parameter.detach().to(ScalarType.Float32).clone().DetachFromDisposeScope(), requires_grad: true)))
                               .ToList();
            var trainedNames = trainable.Select(p => p.name).ToHashSet();
            frozenOriginals = module.state_dict()
                                    .Where(entry => !trainedNames.Contains(entry.Key) && entry.Value.is_floating_point() && entry.Value.dtype != ScalarType.BFloat16)
                                    .Select(entry => (entry.Key, entry.Value.detach().cpu().clone().DetachFromDisposeScope()))
                                    .ToList();
        }
        Omni.Models.Common.Precision.Cast(module, ScalarType.BFloat16);
        foreach (var companion in companions.OfType<nn.Module>()) Omni.Models.Common.Precision.Cast(companion, ScalarType.BFloat16);
        // Parts the model keeps in float32 were not rounded: their copies would only cost memory.
        var rounded = module.state_dict().Where(entry => entry.Value.dtype == ScalarType.BFloat16).Select(entry => entry.Key).ToHashSet();
        foreach (var (_, unrounded) in frozenOriginals.Where(f => !rounded.Contains(f.Item1))) unrounded.Dispose();
        frozenOriginals = frozenOriginals.Where(f => rounded.Contains(f.Item1)).ToList();
        return new MixedPrecision(module, mode, masters, ownsMasters: true, frozenOriginals);
    }

    // The model's parameters are looked up by name each time: casting replaces the parameter objects.
    private Dictionary<string, Parameter> ComputeParameters() =>
        _module.named_parameters().ToDictionary(p => p.name, p => p.parameter);

    /// <summary>After a backward pass: adds the model's gradients into the masters' float32 gradients and clears them.</summary>
    public void AccumulateGradients()
    {
        if (!_ownsMasters) return;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var compute = ComputeParameters();
        foreach (var (name, master) in _masters)
        {
            var parameter = compute[name];
            if (parameter.grad is not { } g) continue;
            if (master.grad is { } accumulated) accumulated.add_(g);
            else master.grad = g.to(ScalarType.Float32).DetachFromDisposeScope();
            parameter.grad = null;
        }
    }

    /// <summary>After an optimizer step or a restore: rounds the masters into the model's bfloat16 weights.</summary>
    public void Publish()
    {
        if (!_ownsMasters) return;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var compute = ComputeParameters();
        foreach (var (name, master) in _masters) compute[name].copy_(master);
    }

    /// <summary>
    /// Runs <paramref name="action"/> with the model in float32 holding the master values and the frozen tensors as loaded
    /// (exports, evaluations), then returns it to bfloat16. Under float32 it just runs the action. Calls may nest (an export inside an evaluation): only the
    /// outermost one casts.
    /// </summary>
    public T WithFloat32Weights<T>(Func<T> action)
    {
        if (!_ownsMasters || _float32Depth > 0) return action();
        _float32Depth++;
        try
        {
            _module.to(ScalarType.Float32);
            using (no_grad())
            {
                var compute = ComputeParameters();
                foreach (var (name, master) in _masters) compute[name].copy_(master);
                var state = _module.state_dict();
                foreach (var (name, original) in _frozenOriginals) state[name].copy_(original);
            }
            return action();
        }
        finally
        {
            _float32Depth--;
            Omni.Models.Common.Precision.Cast(_module, ScalarType.BFloat16);
            Publish();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_ownsMasters) return;
        foreach (var (_, master) in _masters) master.Dispose();
        foreach (var (_, original) in _frozenOriginals) original.Dispose();
    }
}
