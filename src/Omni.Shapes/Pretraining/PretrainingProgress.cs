namespace Omni.Shapes.Pretraining;

/// <summary>A progress report of a pretraining run.</summary>
/// <param name="Step">Completed steps.</param>
/// <param name="Steps">Total steps.</param>
/// <param name="Loss">Mean flow-matching loss over the steps since the previous report.</param>
/// <param name="LearningRate">The learning rate of the last step.</param>
/// <param name="Elapsed">Wall time of this process's part of the run.</param>
/// <param name="Event">What happened besides training: null, "resumed", "checkpoint", "snapshot" or "done".</param>
public sealed record PretrainingProgress(int Step, int Steps, double Loss, double LearningRate, TimeSpan Elapsed, string? Event = null)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"step {Step}/{Steps} loss {Loss:F4} lr {LearningRate:E2} elapsed {Elapsed.TotalSeconds:F0}s{(Event is null ? "" : $" [{Event}]")}";
}
