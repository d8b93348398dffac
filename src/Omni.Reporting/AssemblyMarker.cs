namespace Omni.Reporting;
/// <summary>Marks the Omni.Reporting assembly.</summary>
public static class AssemblyMarker { }
