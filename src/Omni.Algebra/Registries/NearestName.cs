namespace Omni.Algebra.Registries;

/// <summary>"Did you mean …?": the known name closest to a misspelt one, by edit distance.</summary>
public static class NearestName
{
    /// <summary>
    /// The candidate with the smallest case-insensitive Levenshtein distance to <paramref name="name"/>, if that distance is
    /// at most a third of the name's length (at least 2); ties go to the first candidate in order.
    /// </summary>
    public static string? Of(string name, IEnumerable<string> candidates)
    {
        var limit = Math.Max(2, name.Length / 3);
        return candidates.Select(c => (Name: c, Distance: Distance(name.ToLowerInvariant(), c.ToLowerInvariant())))
                         .Where(c => c.Distance <= limit && c.Distance > 0 || string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase) && c.Name != name)
                         .OrderBy(c => c.Distance).Select(c => c.Name).FirstOrDefault();
    }

    /// <summary>The Levenshtein distance (insertions, deletions, substitutions).</summary>
    public static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }
}
