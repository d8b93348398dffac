using System.Runtime.CompilerServices;
using Omni.Algebra.Rewards;

namespace Omni.Rewards;

/// <summary>
/// A reward evaluation running in the background (see <see cref="MultiReward.Start"/>). Await it (or its
/// <see cref="Completion"/>) for the result; a failure or cancellation surfaces there, not when it happens.
/// Nothing else is hidden here: it is a started task plus the batch size it was started for.
/// </summary>
/// <param name="Count">Number of samples being scored.</param>
/// <param name="Completion">The running evaluation.</param>
public sealed record PendingEvaluation(int Count, Task<RewardEvaluation> Completion)
{
    /// <summary>Whether the evaluation has finished (successfully or not).</summary>
    public bool IsCompleted => Completion.IsCompleted;

    /// <summary>Lets callers write <c>await pending</c>.</summary>
    public TaskAwaiter<RewardEvaluation> GetAwaiter() => Completion.GetAwaiter();
}
