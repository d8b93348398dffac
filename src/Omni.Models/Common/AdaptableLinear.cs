using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Omni.Models.Common;

/// <summary>
/// A linear layer with nn.Linear's state-dict keys (<c>weight</c> [out, in], <c>bias</c> [out]) that can carry a
/// low-rank adapter: <c>y = x·Wᵀ + b + (α/r)·B(A(x))</c> with <c>lora_A</c> [r, in] and <c>lora_B</c> [out, r]
/// (PEFT's key names). The adapter can be disabled (the reference policy), merged into W and unmerged.
/// Every linear layer of Omni's models is one, so LoRA needs no module surgery.
/// </summary>
public sealed class AdaptableLinear : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private Linear? lora_A;
    private Linear? lora_B;

    /// <summary>Creates the layer with nn.Linear's initialisation.</summary>
    public AdaptableLinear(long inFeatures, long outFeatures, bool hasBias = true) : base(nameof(AdaptableLinear))
    {
        using var init = Linear(inFeatures, outFeatures, hasBias);
        // The detached alias would keep the throw-away layer's weights alive until a finalizer runs.
        using (var initial = init.weight!.detach()) weight = new Parameter(initial.clone());
        if (hasBias) using (var initial = init.bias!.detach()) bias = new Parameter(initial.clone());
        RegisterComponents();
    }

    /// <summary>Input width.</summary>
    public long InFeatures => weight.shape[1];

    /// <summary>Output width.</summary>
    public long OutFeatures => weight.shape[0];

    /// <summary>Whether an adapter is attached.</summary>
    public bool HasAdapter => lora_A is not null;

    /// <summary>Whether the adapter contributes to the output (ignored without one).</summary>
    public bool AdapterEnabled { get; set; } = true;

    /// <summary>Whether the adapter is currently folded into <c>weight</c>.</summary>
    public bool Merged { get; private set; }

    /// <summary>The adapter's scale α/r.</summary>
    public double Scale { get; private set; }

    /// <summary>The base weight.</summary>
    public Parameter Weight => weight;

    /// <summary>The adapter's down projection A (r × in), if attached.</summary>
    public Linear? LoraA => lora_A;

    /// <summary>The adapter's up projection B (out × r), if attached.</summary>
    public Linear? LoraB => lora_B;

    /// <summary>
    /// Attaches a rank-<paramref name="rank"/> adapter: A drawn from N(0, 1/r²) with <paramref name="generator"/>
    /// (PEFT's "gaussian" init), B zero, so the layer's output is unchanged until B trains.
    /// </summary>
    public void AttachAdapter(int rank, double alpha, Generator generator)
    {
        if (HasAdapter) throw new InvalidOperationException("This layer already has an adapter.");
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "A LoRA rank is positive.");
        var down = Linear(InFeatures, rank, hasBias: false);
        var up = Linear(rank, OutFeatures, hasBias: false);
        using (no_grad())
        {
            using var a = randn([rank, InFeatures], generator: generator) * (1.0 / rank);
            down.weight!.copy_(a);
            up.weight!.zero_();
        }
        down.to(weight.device).to(weight.dtype);
        up.to(weight.device).to(weight.dtype);
        lora_A = down;
        lora_B = up;
        register_module(nameof(lora_A), down);
        register_module(nameof(lora_B), up);
        Scale = alpha / rank;
    }

    /// <summary>Folds <c>(α/r)·B·A</c> into <c>weight</c> (no-op when already merged or disabled).</summary>
    public void Merge()
    {
        if (!HasAdapter || Merged || !AdapterEnabled) return;
        using var g = no_grad();
        weight.add_(Delta());
        Merged = true;
    }

    /// <summary>Subtracts the merged adapter from <c>weight</c> again.</summary>
    public void Unmerge()
    {
        if (!Merged) return;
        using var g = no_grad();
        weight.sub_(Delta());
        Merged = false;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var output = functional.linear(input, weight, bias);
        if (!HasAdapter || Merged || !AdapterEnabled) return output;
        using var scope = NewDisposeScope();
        return output.add_(lora_B!.forward(lora_A!.forward(input)), alpha: Scale).MoveToOuterDisposeScope();
    }

    private Tensor Delta() => lora_B!.weight!.matmul(lora_A!.weight!).mul_(Scale);
}
