using Omni.Effects.Safetensors;
using static TorchSharp.torch;

namespace Omni.Tests.Behaviour.Distributed;

/// <summary>
/// FSDP over two MPICH ranks: each rank holds half of every parameter's rows (padded), the gathered parameters equal the
/// originals exactly, and after each rank back-propagates its half of a batch the shard gradients equal the slices of the
/// one-process gradient of the whole batch — to float32 rounding (rtol 1e-5, atol 1e-7: the two halves are summed in
/// another order than the one-process reduction).
/// </summary>
[Collection(MultiProcessCollection.Name)]
public sealed class FsdpAcrossRanksTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("omni-fsdp-").FullName;

    public void Dispose() => Directory.Delete(_work, true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Two_ranks_gather_the_originals_and_reduce_scatter_the_whole_batch_gradient(bool lora)
    {
        using var job = MpiJob.Workers(2, lora ? "fsdp-unit-lora" : "fsdp-unit", _work);
        Assert.True(job.Wait(TimeSpan.FromMinutes(4)) == 0, job.Transcript);

        using var scope = NewDisposeScope();
        using var plain = ShardingFixture.Model(lora);
        var originals = plain.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        ShardingFixture.Loss(plain, ShardingFixture.Inputs(0, 4)).backward();
        var trained = plain.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!);
        Assert.NotEmpty(trained);

        for (var rank = 0; rank < 2; rank++)
        {
            using var gathered = SafetensorsFile.Open(Path.Combine(_work, $"gathered-{rank}.safetensors"));
            using var grads = SafetensorsFile.Open(Path.Combine(_work, $"grads-{rank}.safetensors"));
            using var shards = SafetensorsFile.Open(Path.Combine(_work, $"shards-{rank}.safetensors"));
            Assert.Equal(originals.Keys.Order(), gathered.Entries.Keys.Order());
            Assert.Equal(trained.Keys.Order(), grads.Entries.Keys.Order());
            foreach (var (name, original) in originals)
            {
                Assert.True(gathered.Read(name).Equals(original), $"rank {rank}: gathered {name} differs from the original");
                var rows = original.dim() == 0 ? 1 : original.shape[0];
                var perRank = (rows + 1) / 2;
                Assert.Equal(perRank, shards.Entries[name].Shape[0]);
                Assert.True(shards.Read(name).Equals(Slice(original, rank, perRank)), $"rank {rank}: shard of {name} is not its rows");
            }
            foreach (var (name, full) in trained)
            {
                var expected = Slice(full, rank, grads.Entries[name].Shape[0]);
                var actual = grads.Read(name);
                Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-7),
                    $"rank {rank}: gradient shard of {name} differs by {(actual - expected).abs().max().item<float>()}");
            }
        }
    }

    private static Tensor Slice(Tensor full, int rank, long perRank)
    {
        var rows = full.reshape(full.dim() == 0 ? 1 : full.shape[0], -1);
        var shard = zeros(perRank, rows.shape[1]);
        var count = Math.Clamp(rows.shape[0] - rank * perRank, 0, perRank);
        if (count > 0) shard.narrow(0, 0, count).copy_(rows.narrow(0, rank * perRank, count));
        return shard.reshape(full.dim() == 0 ? [perRank] : [perRank, .. full.shape.Skip(1)]);
    }
}
