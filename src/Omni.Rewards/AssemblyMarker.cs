namespace Omni.Rewards;
/// <summary>Marks the Omni.Rewards assembly.</summary>
public static class AssemblyMarker { }
