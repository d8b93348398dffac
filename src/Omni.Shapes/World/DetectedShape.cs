namespace Omni.Shapes.World;

/// <summary>An object found in an image: one connected region of one palette colour.</summary>
/// <param name="Colour">The palette colour its pixels were classified as.</param>
/// <param name="Shape">The shape its silhouette is closest to.</param>
/// <param name="Area">Number of pixels.</param>
/// <param name="CentreX">Centroid column (pixel centres at x + 0.5).</param>
/// <param name="CentreY">Centroid row (pixel centres at y + 0.5; y grows downwards).</param>
/// <param name="Fill">Area over bounding-box area: 1 for a square, about 0.79 for a disc, about 0.5 for a triangle.</param>
/// <param name="TopToBottom">Pixels in the upper half of the bounding box over those in the lower half: about 1/3 for an upright triangle, 1 for a disc or square.</param>
public sealed record DetectedShape(
    ShapeColour Colour, ShapeKind Shape, int Area, double CentreX, double CentreY, double Fill, double TopToBottom);
