using System.Text.RegularExpressions;

namespace Omni.Tests.Behaviour.Docs;

/// <summary>
/// Documentation code that cannot rot: every <c>```csharp snippet=NAME</c> block of the checked documents is, verbatim,
/// the region "begin-snippet: NAME" … "end-snippet" of a compiled source file of this project (run by its tests), and
/// every such region is shown in a document.
/// </summary>
public sealed partial class DocSnippetTests
{
    private static readonly string[] Documents = ["docs/porting-from-python.md"];

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Functional.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Functional.sln not found above the test assembly.");
    }

    [GeneratedRegex(@"^[ \t]*// begin-snippet: (?<name>[\w-]+)[ \t]*\r?\n(?<body>.*?)^[ \t]*// end-snippet", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex SourceSnippet();

    [GeneratedRegex(@"^```csharp snippet=(?<name>[\w-]+)[ \t]*\r?\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex DocumentSnippet();

    private static Dictionary<string, string> SourceSnippets(string root) =>
        Directory.GetFiles(Path.Combine(root, "tests", "Behaviour", "Docs"), "*.cs")
            .SelectMany(f => SourceSnippet().Matches(File.ReadAllText(f)))
            .ToDictionary(m => m.Groups["name"].Value, m => Dedent(m.Groups["body"].Value));

    private static string Dedent(string body)
    {
        var lines = body.Replace("\r\n", "\n").TrimEnd('\n').Split('\n').Select(l => l.TrimEnd()).ToList();
        var indent = lines.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l));
    }

    [Fact]
    public void Every_snippet_in_the_documents_is_compiled_code()
    {
        var root = Root();
        var sources = SourceSnippets(root);
        var shown = new HashSet<string>();
        foreach (var document in Documents)
        {
            foreach (Match block in DocumentSnippet().Matches(File.ReadAllText(Path.Combine(root, document))))
            {
                var name = block.Groups["name"].Value;
                Assert.True(sources.ContainsKey(name), $"{document}: snippet '{name}' has no source region in tests/Behaviour/Docs.");
                Assert.Equal(sources[name], Dedent(block.Groups["body"].Value));
                shown.Add(name);
            }
        }
        Assert.Empty(sources.Keys.Except(shown));
    }
}
