using Omni.Effects.Distributed;
using Omni.Effects.Distributed.Sharding;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// The FSDP mechanism in one process (world size 1: shards are whole parameters): names and values survive sharding,
/// the model computes the same outputs and gradients through the gather, LoRA and gradient checkpointing work, bf16
/// compute keeps float32 shards and gradients, and unsharding gives back the plain model. The two-rank behaviour is
/// checked by the multi-rank tests.
/// </summary>
public sealed class FullyShardedModuleTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void At_world_size_1_the_sharded_model_computes_what_the_plain_one_does(bool lora, bool checkpointing)
    {
        using var scope = NewDisposeScope();
        using var plain = ShardingFixture.Model(lora);
        using var sharded = ShardingFixture.Model(lora);
        plain.GradientCheckpointing = sharded.GradientCheckpointing = checkpointing;
        var before = sharded.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var collectives = new SingleProcessCollectives();
        using var fsdp = FullyShardedModule.Shard(sharded, collectives);

        Assert.Equal(before.Keys, sharded.named_parameters().Select(p => p.name));
        Assert.Equal(["transformer_blocks.0", "transformer_blocks.1", "transformer_blocks.2", FullyShardedModule.RootUnit], fsdp.Units.Select(u => u.Name));
        var x = ShardingFixture.Inputs(0, 2);
        var expected = ShardingFixture.Loss(plain, x);
        expected.backward();
        fsdp.Gather();
        foreach (var (name, value) in before)
            Assert.True(Current(sharded, name).Equals(value), $"gathered {name} differs from the original");
        var actual = ShardingFixture.Loss(sharded, x);
        actual.backward();
        fsdp.Release();
        Assert.Equal(expected.item<float>(), actual.item<float>());
        var plainGrads = plain.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!);
        var shardGrads = sharded.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!);
        Assert.Equal(plainGrads.Keys.Order(), shardGrads.Keys.Order());
        Assert.True(plainGrads.Count >= (lora ? 10 : 50), $"only {plainGrads.Count} gradients");
        foreach (var (name, g) in plainGrads) Assert.True(shardGrads[name].Equals(g), $"gradient of {name} differs");
        if (lora) Assert.All(plainGrads.Keys, k => Assert.Contains("lora_", k));
    }

    [Fact]
    public void Micro_batches_accumulate_into_the_shard_gradients()
    {
        using var scope = NewDisposeScope();
        using var plain = ShardingFixture.Model();
        using var sharded = ShardingFixture.Model();
        using var collectives = new SingleProcessCollectives();
        using var fsdp = FullyShardedModule.Shard(sharded, collectives);
        foreach (var first in new[] { 0, 2 })
        {
            ShardingFixture.Loss(plain, ShardingFixture.Inputs(first, 2)).backward();
            fsdp.Gather();
            ShardingFixture.Loss(sharded, ShardingFixture.Inputs(first, 2)).backward();
            fsdp.Release();
        }
        foreach (var (name, p) in plain.named_parameters())
            Assert.True(p.grad!.allclose(Grad(sharded, name), rtol: 1e-6, atol: 1e-7), $"accumulated gradient of {name} differs");
    }

    [Fact]
    public void Bf16_compute_gathers_bfloat16_copies_and_keeps_float32_shards_and_gradients()
    {
        using var scope = NewDisposeScope();
        using var sharded = ShardingFixture.Model();
        using var collectives = new SingleProcessCollectives();
        using var fsdp = FullyShardedModule.Shard(sharded, collectives, ShardingPrecision.Bf16Compute);
        fsdp.Gather();
        Assert.Equal(ScalarType.BFloat16, Current(sharded, "proj_out.weight").dtype);
        var x = ShardingFixture.Inputs(0, 2);
        sharded.forward(x.Hidden.to(ScalarType.BFloat16), x.Context.to(ScalarType.BFloat16), x.Pooled.to(ScalarType.BFloat16), x.Timestep)
            .to(ScalarType.Float32).pow(2).mean().backward();
        fsdp.Release();
        Assert.All(sharded.named_parameters(), p =>
        {
            Assert.Equal(ScalarType.Float32, p.parameter.dtype);
            Assert.Equal(ScalarType.Float32, p.parameter.grad!.dtype);
        });
        Assert.Equal(ScalarType.Float32, Current(sharded, "proj_out.weight").dtype);
    }

    [Fact]
    public void Unsharding_gives_back_full_trainable_parameters_with_the_same_values()
    {
        using var scope = NewDisposeScope();
        using var sharded = ShardingFixture.Model(lora: true);
        var before = sharded.named_parameters().ToDictionary(p => p.name, p => (Value: p.parameter.detach().clone(), p.parameter.requires_grad));
        using var collectives = new SingleProcessCollectives();
        using var fsdp = FullyShardedModule.Shard(sharded, collectives);
        fsdp.Unshard();
        foreach (var (name, p) in sharded.named_parameters())
        {
            Assert.True(p.Equals(before[name].Value), name);
            Assert.Equal(before[name].requires_grad, p.requires_grad);
            Assert.Same(p, Current(sharded, name));
        }
        Assert.Throws<InvalidOperationException>(() => fsdp.Gather());
    }

    [Fact]
    public void A_parameter_its_module_reads_through_no_field_cannot_be_sharded()
    {
        using var module = new UnnamedParameterModule();
        using var collectives = new SingleProcessCollectives();
        var e = Assert.Throws<NotSupportedException>(() => FullyShardedModule.Shard(module, collectives));
        Assert.Contains("'hidden'", e.Message);
        Assert.Contains("DDP", e.Message);
    }

    /// <summary>What the forward of the module owning <paramref name="name"/> reads right now (the field, not the registry).</summary>
    private static Tensor Current(nn.Module model, string name)
    {
        var split = name.LastIndexOf('.');
        var owner = model.named_modules().First(m => m.name == name[..split]).module;
        var local = name[(split + 1)..];
        for (var type = owner.GetType(); type is not null; type = type.BaseType)
            foreach (var f in type.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly))
                if (f.ComponentName() == local && f.GetValue(owner) is Tensor t) return t;
        throw new InvalidOperationException(name);
    }

    private static Tensor Grad(nn.Module model, string name) => model.named_parameters().First(p => p.name == name).parameter.grad!;

    private sealed class UnnamedParameterModule : nn.Module<Tensor, Tensor>
    {
        public UnnamedParameterModule() : base("unnamed") => register_parameter("hidden", new TorchSharp.Modules.Parameter(ones(3)));

        public override Tensor forward(Tensor input) => input;
    }
}
