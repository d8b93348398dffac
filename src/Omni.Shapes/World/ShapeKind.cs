namespace Omni.Shapes.World;

/// <summary>The shapes the world draws: filled, axis-aligned, single-colour.</summary>
public enum ShapeKind
{
    /// <summary>A filled disc.</summary>
    Circle,
    /// <summary>A filled axis-aligned square.</summary>
    Square,
    /// <summary>A filled isosceles triangle pointing up (apex at the top, base at the bottom).</summary>
    Triangle,
}
