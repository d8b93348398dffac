namespace Omni.Effects.Devices;

/// <summary>The shared libraries mapped into this process (<c>/proc/self/maps</c>): which libtorch actually runs.</summary>
public static class LoadedLibraries
{
    /// <summary>The full path of the loaded library whose file name is <paramref name="fileName"/>, or null.</summary>
    public static string? PathOf(string fileName)
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return null;
        foreach (var line in File.ReadLines(maps))
        {
            var slash = line.IndexOf('/');
            if (slash < 0) continue;
            var path = line[slash..].Trim();
            if (Path.GetFileName(path) == fileName) return path;
        }
        return null;
    }
}
