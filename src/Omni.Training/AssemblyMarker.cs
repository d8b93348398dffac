namespace Omni.Training;
/// <summary>Marks the Omni.Training assembly.</summary>
public static class AssemblyMarker { }
