using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Omni.Models.Common;

/// <summary>
/// Gradient checkpointing: run a block without keeping its activations, and recompute them during the backward pass
/// (reentrant, like PyTorch's <c>torch.utils.checkpoint</c> with <c>use_reentrant=True</c>). Trades one extra forward
/// per block for activation memory. The block must be deterministic (no dropout at train time in Omni's models).
/// </summary>
public static class GradientCheckpoint
{
    /// <summary>
    /// Runs <paramref name="block"/> on <paramref name="inputs"/>, checkpointed when gradients are being recorded;
    /// parameters the block closes over receive their gradients during the recomputation. Pass every tensor the block
    /// reads as an input (autograd keeps inputs alive until the backward pass); a captured tensor may have been freed
    /// by then.
    /// </summary>
    public static Tensor[] Run(Func<Tensor[], Tensor[]> block, params Tensor[] inputs)
    {
        if (!is_grad_enabled()) return block(inputs);
        // An input that requires grad keeps the node in the graph even when only the block's parameters train.
        using var anchor = zeros(1).requires_grad_(true);
        return [.. CheckpointFunction.apply([block, anchor, .. inputs])];
    }

    private sealed class CheckpointFunction : MultiTensorFunction<CheckpointFunction>
    {
        public override string Name => "OmniGradientCheckpoint";

        public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
        {
            var block = (Func<Tensor[], Tensor[]>)vars[0];
            var inputs = vars.Skip(2).Cast<Tensor>().ToArray();
            ctx.save_for_backward([.. inputs]);
            ctx.save_data("block", block);
            // Outputs nobody uses (the last Qwen-Image block's text stream) get no gradient; do not ask TorchSharp to
            // invent zeros for them — its zero-filling reads per-output templates that a DisposeScope may have freed.
            ctx.set_materialize_grads(false);
            return [.. block(inputs)];
        }

        public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
        {
            var block = (Func<Tensor[], Tensor[]>)ctx.get_data("block");
            var inputs = ctx.get_saved_variables()
                .Select(t => t.is_floating_point() ? t.detach().requires_grad_(true) : t.detach()).ToArray();
            using (enable_grad())
            {
                var outputs = block(inputs);
                var live = Enumerable.Range(0, outputs.Length)
                    .Where(i => outputs[i].requires_grad && gradOutputs[i] is { IsInvalid: false }).ToList();
                if (live.Count > 0)
                    TorchSharp.torch.autograd.backward(live.Select(i => outputs[i]).ToList(), live.Select(i => gradOutputs[i]).ToList());
            }
            return [null!, null!, .. inputs.Select(t => t.requires_grad ? t.grad! : null!)];
        }
    }
}
