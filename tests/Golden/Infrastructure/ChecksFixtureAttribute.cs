namespace Omni.Tests.Golden.Infrastructure;

/// <summary>
/// Declares that a test class checks one fixture of the golden directory: a suite by its name (<c>sde_steps</c> for
/// <c>sde_steps.json</c> + <c>sde_steps.safetensors</c>) or a folder of fixtures by its name and a slash
/// (<c>models/</c>, <c>pipelines/</c>). <c>FixtureCoverageTests</c> fails for any fixture no class claims, so a suite
/// added to the reference set (or to <c>OMNI_GOLDEN_DIR</c>) cannot go unchecked. A class claiming a folder must run
/// every entry in it, and fail for one it cannot run.
/// </summary>
/// <param name="fixture">The suite name, or the folder name followed by '/'.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class ChecksFixtureAttribute(string fixture) : Attribute
{
    /// <summary>The suite name, or the folder name followed by '/'.</summary>
    public string Fixture { get; } = fixture;
}
