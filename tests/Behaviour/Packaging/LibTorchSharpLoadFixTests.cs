using Omni.Build;

namespace Omni.Tests.Behaviour.Packaging;

/// <summary>
/// The Debian 12 load fix (build/LibTorchSharpLoadFix.cs): it weakens exactly the GLIBCXX_3.4.32 version need of
/// TorchSharp's native bridge, refuses when a relocation would use that version, and never writes through a hard link.
/// </summary>
public sealed class LibTorchSharpLoadFixTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("omni-elf-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // The copy the build put beside this test assembly (the one this process loaded).
    private static string OutputCopy => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    // A copy of the bridge as TorchSharp ships it: the output copy with the one flag set back to "none".
    private string Original()
    {
        var bytes = File.ReadAllBytes(OutputCopy);
        GlibcxxVersionNeed.Inspect(bytes, GlibcxxVersionNeed.Glibcxx3432, out var flags);
        Assert.True(flags > 0);
        bytes[flags] = 0;
        var path = Path.Combine(_directory, "libLibTorchSharp.so");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void The_build_output_copy_is_already_fixed()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.Equal(VersionNeedOutcome.AlreadyWeak, GlibcxxVersionNeed.Inspect(File.ReadAllBytes(OutputCopy), GlibcxxVersionNeed.Glibcxx3432, out _));
    }

    [Fact]
    public void Marking_weak_changes_two_bytes_and_a_second_run_changes_nothing()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = Original();
        var before = File.ReadAllBytes(path);
        Assert.Equal(VersionNeedOutcome.Patched, GlibcxxVersionNeed.Inspect(before, GlibcxxVersionNeed.Glibcxx3432, out var flags));

        Assert.Equal(VersionNeedOutcome.Patched, GlibcxxVersionNeed.MarkWeak(path));
        var after = File.ReadAllBytes(path);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).Select(i => (long)i).ToArray();
        Assert.Equal(new[] { flags }, changed);                        // vna_flags' low byte: 0 -> VER_FLG_WEAK
        Assert.Equal(2, after[flags]);
        Assert.Equal(VersionNeedOutcome.AlreadyWeak, GlibcxxVersionNeed.MarkWeak(path));
        Assert.Equal(after, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_version_whose_symbols_are_relocated_is_left_alone()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = Original();
        var before = File.ReadAllBytes(path);
        // Every C++ library binds std::ios_base's destructor and friends to the base version: weakening it would crash.
        Assert.Equal(VersionNeedOutcome.SymbolInUse, GlibcxxVersionNeed.MarkWeak(path, "GLIBCXX_3.4"));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Files_without_the_need_are_not_touched()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = Original();
        Assert.Equal(VersionNeedOutcome.NotNeeded, GlibcxxVersionNeed.MarkWeak(path, "GLIBCXX_9.9.99"));
        var text = Path.Combine(_directory, "notes.txt");
        File.WriteAllText(text, "not an ELF file");
        Assert.Equal(VersionNeedOutcome.NotNeeded, GlibcxxVersionNeed.MarkWeak(text));
        Assert.Equal("not an ELF file", File.ReadAllText(text));
    }

    [Fact]
    public void A_hard_link_into_a_package_cache_is_never_written_through()
    {
        if (!OperatingSystem.IsLinux()) return;
        var cacheCopy = Original();
        var before = File.ReadAllBytes(cacheCopy);
        var outputCopy = Path.Combine(_directory, "output.so");
        var link = System.Diagnostics.Process.Start("ln", [cacheCopy, outputCopy])!;
        link.WaitForExit();
        Assert.Equal(0, link.ExitCode);

        Assert.Equal(VersionNeedOutcome.Patched, GlibcxxVersionNeed.MarkWeak(outputCopy));
        Assert.Equal(before, File.ReadAllBytes(cacheCopy));
        Assert.Equal(VersionNeedOutcome.AlreadyWeak, GlibcxxVersionNeed.Inspect(File.ReadAllBytes(outputCopy), GlibcxxVersionNeed.Glibcxx3432, out _));
        Assert.Equal(File.GetUnixFileMode(cacheCopy), File.GetUnixFileMode(outputCopy));
    }
}
