using System.Text.Json;
using System.Text.RegularExpressions;
using LanguageExt;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Effects.Diffusers;

/// <summary>
/// Reads the JSON files of a model folder (<c>model_index.json</c>, component <c>config.json</c>s, scheduler configs). A
/// missing file or malformed JSON is an error value that names the file and, for malformed JSON, the line and column
/// (1-based, as an editor shows them) and what the parser expected.
/// </summary>
public static partial class JsonFiles
{
    /// <summary>The parsed document's root, or an error naming the file.</summary>
    public static Either<OmniError, JsonElement> Read(string file)
    {
        if (!File.Exists(file)) return Left<OmniError, JsonElement>(new OmniError(ErrorKind.NotFound, $"'{file}' does not exist."));
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            return Right<OmniError, JsonElement>(document.RootElement.Clone());
        }
        catch (JsonException e)
        {
            return Left<OmniError, JsonElement>(OmniError.Invalid(Describe(file, e)));
        }
    }

    /// <summary>
    /// "'file' is not valid JSON at line L, column C: reason" for a parser error (System.Text.Json counts lines and bytes
    /// from 0 and appends them to its message; here they come first, from 1).
    /// </summary>
    public static string Describe(string file, JsonException e)
    {
        var reason = PositionSuffix().Replace(e.Message, "").Trim();
        return e.LineNumber is { } line
            ? $"'{file}' is not valid JSON at line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1}: {reason}"
            : $"'{file}' is not valid JSON: {reason}";
    }

    [GeneratedRegex(@"\s*(Path: .*)?\|?\s*LineNumber: \d+ \| BytePositionInLine: \d+\.?\s*$")]
    private static partial Regex PositionSuffix();
}

/// <summary>What a diffusers component's <c>config.json</c> says about itself.</summary>
public static class ComponentConfig
{
    /// <summary>The component's <c>_class_name</c>, or null when the file does not name one.</summary>
    public static string? ClassName(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("_class_name", out var name) && name.ValueKind == JsonValueKind.String
            ? name.GetString()
            : null;
}
