using System.Text;
using System.Text.Json;
using Omni.Algebra.Rewards;
using Omni.Effects.Imaging;

namespace Omni.Rewards.Http;

/// <summary>
/// The HTTP scorer wire format. Request: <c>{"images": ["&lt;base64 PNG&gt;", ...], "prompts": ["...", ...],
/// "metadata": [{"key": "value"}, ...]}</c>, one entry per sample in each array. Response: <c>{"scores": [0.5, ...]}</c>,
/// one finite number per image in order; any other members (e.g. <c>"components"</c>) are ignored.
/// </summary>
public static class ScorerProtocol
{
    /// <summary>The request body (UTF-8 JSON) for samples <paramref name="start"/> .. start+count−1 of <paramref name="batch"/>.</summary>
    public static byte[] Request(RewardBatch batch, int start, int count)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("images");
            for (var i = start; i < start + count; i++) json.WriteBase64StringValue(ImageCodecs.EncodePng(batch.Images[i]));
            json.WriteEndArray();
            json.WriteStartArray("prompts");
            for (var i = start; i < start + count; i++) json.WriteStringValue(batch.Prompts[i]);
            json.WriteEndArray();
            json.WriteStartArray("metadata");
            for (var i = start; i < start + count; i++)
            {
                json.WriteStartObject();
                var row = batch.Metadata.IsDefaultOrEmpty ? null : batch.Metadata[i];
                foreach (var (key, value) in row ?? System.Collections.Immutable.ImmutableDictionary<string, string>.Empty)
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// Reads the scores from a response body. Returns the problem instead of throwing so the caller can add the
    /// endpoint and attempt to the message.
    /// </summary>
    /// <returns>The scores, or <c>null</c> with <paramref name="problem"/> saying what is wrong.</returns>
    public static float[]? Scores(string body, int expectedCount, out string problem)
    {
        problem = "";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            problem = $"the response is not valid JSON ({e.Message})";
            return null;
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("scores", out var scores)
                || scores.ValueKind != JsonValueKind.Array)
            {
                problem = "the response has no \"scores\" array";
                return null;
            }
            if (scores.GetArrayLength() != expectedCount)
            {
                problem = $"the response has {scores.GetArrayLength()} scores for {expectedCount} images";
                return null;
            }
            var result = new float[expectedCount];
            var i = 0;
            foreach (var element in scores.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var value) || !float.IsFinite((float)value))
                {
                    problem = $"score {i} is {Excerpt(element.GetRawText(), 40)}, not a finite number";
                    return null;
                }
                result[i++] = (float)value;
            }
            return result;
        }
    }

    /// <summary>The first <paramref name="length"/> characters of <paramref name="text"/> on one line, for error messages.</summary>
    public static string Excerpt(string text, int length = 200)
    {
        var line = new StringBuilder(Math.Min(text.Length, length + 1));
        foreach (var c in text)
        {
            if (line.Length > length) break;
            line.Append(char.IsWhiteSpace(c) ? ' ' : c);
        }
        return line.Length > length ? line.ToString(0, length) + "…" : line.ToString();
    }
}
