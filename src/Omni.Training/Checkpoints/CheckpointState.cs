namespace Omni.Training.Checkpoints;

/// <summary>The counters and settings a checkpoint records besides tensors (<c>state.json</c>).</summary>
/// <param name="Step">Training steps completed.</param>
/// <param name="OptimizerUpdates">Optimizer updates taken (drives the learning-rate schedule).</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Options">The training options as JSON (resume checks compatibility against them).</param>
/// <param name="Model">The model key and sampling settings as JSON.</param>
public sealed record CheckpointState(int Step, int OptimizerUpdates, long Seed, string Options, string Model);
