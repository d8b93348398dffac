using System.Text.RegularExpressions;

namespace Omni.Models.Lora;

/// <summary>
/// Which linear layers get adapters, by module name, with PEFT's matching rule: a pattern selects a layer whose full
/// name equals it or ends with "." + pattern; <c>all-linear</c> selects every linear layer except the output
/// projection; a pattern starting with <c>re:</c> is a regular expression matched against the whole name.
/// </summary>
public static class LoraTargets
{
    /// <summary>FlowGRPO's targets for SD3: the joint attention's image and text projections.</summary>
    public static readonly IReadOnlyList<string> FlowGrpo =
        ["attn.to_q", "attn.to_k", "attn.to_v", "attn.to_out.0", "attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj", "attn.to_add_out"];

    /// <summary>Whether the layer called <paramref name="name"/> matches any of <paramref name="patterns"/>.</summary>
    public static bool Matches(string name, IEnumerable<string> patterns) => patterns.Any(pattern => pattern switch
    {
        "all-linear" => name != "proj_out",
        _ when pattern.StartsWith("re:", StringComparison.Ordinal) => Regex.IsMatch(name, "^(?:" + pattern[3..] + ")$"),
        _ => name == pattern || name.EndsWith("." + pattern, StringComparison.Ordinal),
    });
}
