namespace Omni.Algebra.Errors;

/// <summary>
/// The exception the facade throws for one or more <see cref="OmniError"/> values; its message
/// lists every problem, one per line.
/// </summary>
public sealed class OmniException : Exception
{
    /// <summary>Creates the exception from the accumulated errors.</summary>
    public OmniException(IReadOnlyList<OmniError> errors)
        : base(errors.Count == 1 ? errors[0].Message : string.Join(Environment.NewLine, errors.Select(e => "- " + e.Message)))
        => Errors = errors;

    /// <summary>Every error that caused this exception, in the order they were found.</summary>
    public IReadOnlyList<OmniError> Errors { get; }
}
