using System.Collections.Immutable;
using static TorchSharp.torch;

namespace Omni.Algebra.Rollouts;

/// <summary>
/// One rollout batch: prompt embeddings (already encoded — training never re-encodes prompts), the noise sources
/// and the SDE window. The request lends its prompt tensors to the rollout; the trajectory borrows them in turn.
/// </summary>
/// <param name="PromptEmbeds">(B, L, D).</param>
/// <param name="InitialNoise">Draws the initial latents.</param>
/// <param name="StepNoise">Draws each step's noise.</param>
/// <param name="Window">The SDE window; null to use <see cref="ChooseWindow"/>.</param>
/// <param name="PromptEmbedsMask">(B, L), if any.</param>
/// <param name="NegativePromptEmbeds">For CFG, if any.</param>
/// <param name="NegativePromptEmbedsMask">For CFG, if any.</param>
public sealed record RolloutRequest(
    Tensor PromptEmbeds,
    IRandomSource InitialNoise,
    IRandomSource StepNoise,
    SdeWindow? Window = null,
    Tensor? PromptEmbedsMask = null,
    Tensor? NegativePromptEmbeds = null,
    Tensor? NegativePromptEmbedsMask = null)
{
    /// <summary>Model extras (e.g. <c>pooled_prompt_embeds</c>) passed through to the adapter and the trajectory.</summary>
    public ImmutableDictionary<string, Tensor> Extras { get; init; } = ImmutableDictionary<string, Tensor>.Empty;

    /// <summary>
    /// Chooses the window when <see cref="Window"/> is null, called right after the initial latents are drawn (the
    /// reference draws the window start from the request's generator at that point). Null: every step but the last.
    /// </summary>
    public Func<Config.SdeSettings, int, SdeWindow>? ChooseWindow { get; init; }

    /// <summary>
    /// Chooses one window per sample when neither <see cref="Window"/> nor <see cref="ChooseWindow"/> is set, called right after
    /// the initial latents are drawn (the reference's request batching draws each row's start from that row's generator then).
    /// </summary>
    public Func<Config.SdeSettings, int, IReadOnlyList<SdeWindow>>? ChooseWindows { get; init; }

    /// <summary>The window for a schedule of <paramref name="steps"/> steps.</summary>
    public SdeWindow WindowFor(Config.SdeSettings settings, int steps) =>
        Window ?? ChooseWindow?.Invoke(settings, steps) ?? new SdeWindow(0, steps - 1);

    /// <summary>Each sample's window for a schedule of <paramref name="steps"/> steps.</summary>
    public IReadOnlyList<SdeWindow> WindowsFor(Config.SdeSettings settings, int steps) =>
        Window is null && ChooseWindow is null && ChooseWindows is { } choose
            ? choose(settings, steps)
            : Enumerable.Repeat(WindowFor(settings, steps), (int)BatchSize).ToArray();

    /// <summary>The batch size.</summary>
    public long BatchSize => PromptEmbeds.shape[0];
}
