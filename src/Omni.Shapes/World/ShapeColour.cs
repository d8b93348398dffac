using System.Collections.Immutable;

namespace Omni.Shapes.World;

/// <summary>The colours an object can have.</summary>
public enum ShapeColour
{
    /// <summary>Pure red.</summary>
    Red,
    /// <summary>Pure green.</summary>
    Green,
    /// <summary>Pure blue.</summary>
    Blue,
    /// <summary>Pure yellow (red + green).</summary>
    Yellow,
}

/// <summary>
/// The palette. Objects are drawn in saturated primaries on a black (0, 0, 0) background: black is the one
/// corner of the RGB cube that is far from every palette colour and is what a zero-initialised decoder drifts
/// towards, so "nothing drawn" reads as background rather than as a colour.
/// </summary>
public static class ShapeColours
{
    /// <summary>The background colour of every rendered image: black.</summary>
    public static (byte R, byte G, byte B) Background => (0, 0, 0);

    /// <summary>Every colour, in enum order.</summary>
    public static ImmutableArray<ShapeColour> All { get; } = [.. Enum.GetValues<ShapeColour>()];

    /// <summary>The RGB value <paramref name="colour"/> is drawn with; corners of the RGB cube, at least 255 apart.</summary>
    public static (byte R, byte G, byte B) Rgb(ShapeColour colour) => colour switch
    {
        ShapeColour.Red => (255, 0, 0),
        ShapeColour.Green => (0, 255, 0),
        ShapeColour.Blue => (0, 0, 255),
        ShapeColour.Yellow => (255, 255, 0),
        _ => throw new ArgumentOutOfRangeException(nameof(colour), colour, "Not a shape colour."),
    };
}
