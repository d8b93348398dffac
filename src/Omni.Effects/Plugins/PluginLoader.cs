using System.Reflection;
using LanguageExt;
using Omni.Algebra.Adapters;
using Omni.Algebra.Errors;
using static LanguageExt.Prelude;

namespace Omni.Effects.Plugins;

/// <summary>
/// Loads an external assembly (the reference's <c>external_lib</c>) and applies every public
/// <see cref="IOmniPlugin"/> it defines, in type-name order, to a registries value.
/// </summary>
public static class PluginLoader
{
    /// <summary>
    /// Loads <paramref name="assembly"/> — a path to a <c>.dll</c> (relative paths resolve against the current
    /// directory) or the name of an assembly the application can already resolve — and returns
    /// <paramref name="registries"/> with its plugins' additions.
    /// </summary>
    public static Either<OmniError, AdapterRegistries> Load(AdapterRegistries registries, string assembly)
    {
        Assembly loaded;
        try
        {
            loaded = assembly.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || assembly.Contains(Path.DirectorySeparatorChar)
                ? Assembly.LoadFrom(Path.GetFullPath(assembly))
                : Assembly.Load(new AssemblyName(assembly));
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException or ArgumentException)
        {
            return Left<OmniError, AdapterRegistries>(new OmniError(ErrorKind.NotFound,
                $"Cannot load the external assembly '{assembly}' (external_assembly): {e.Message}"));
        }
        Type[] types;
        try { types = loaded.GetExportedTypes(); }
        catch (Exception e) when (e is ReflectionTypeLoadException or FileNotFoundException)
        {
            return Left<OmniError, AdapterRegistries>(OmniError.Invalid($"The external assembly '{assembly}' has types that cannot be loaded: {e.Message}"));
        }
        var plugins = types
            .Where(t => typeof(IOmniPlugin).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false } && t.GetConstructor(Type.EmptyTypes) is not null)
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToList();
        if (plugins.Count == 0)
            return Left<OmniError, AdapterRegistries>(OmniError.Invalid(
                $"The external assembly '{assembly}' defines no public IOmniPlugin with a parameterless constructor, so it registers nothing."));
        try
        {
            return plugins.Aggregate(registries, (current, type) => ((IOmniPlugin)Activator.CreateInstance(type)!).Register(current));
        }
        catch (TargetInvocationException e)
        {
            return Left<OmniError, AdapterRegistries>(OmniError.Invalid($"A plugin in '{assembly}' failed while registering: {e.InnerException?.Message ?? e.Message}"));
        }
    }
}
