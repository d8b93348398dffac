namespace Omni.Shapes;
/// <summary>Marks the Omni.Shapes assembly.</summary>
public static class AssemblyMarker { }
