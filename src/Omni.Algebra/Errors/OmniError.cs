namespace Omni.Algebra.Errors;

/// <summary>What went wrong, in the terms of the reference implementation's exception types.</summary>
public enum ErrorKind
{
    /// <summary>An argument or configuration value is invalid (Python's <c>ValueError</c>).</summary>
    InvalidValue,
    /// <summary>A required argument is missing (Python's implicit <c>TypeError</c>).</summary>
    MissingArgument,
    /// <summary>A looked-up value does not exist (Python's <c>IndexError</c>/<c>KeyError</c>).</summary>
    NotFound,
    /// <summary>A tensor has a dtype the operation does not accept (the reference's assertions).</summary>
    InvalidDType,
    /// <summary>A tensor has a shape the operation does not accept.</summary>
    InvalidShape,
    /// <summary>A feature of the reference that is deliberately not supported (Python's <c>NotImplementedError</c>).</summary>
    NotSupported,
}

/// <summary>
/// An error a caller can fix, returned as a value by the pure core (inside <c>Validation</c> or
/// <c>Either</c>) and turned into an exception with the same message at the facade.
/// </summary>
/// <param name="Kind">The category, mirroring the reference's exception type.</param>
/// <param name="Message">A precise, human-readable explanation that names the offending values.</param>
public sealed record OmniError(ErrorKind Kind, string Message)
{
    /// <summary>The Python exception type the reference raises for this kind of error.</summary>
    public string PythonEquivalent => Kind switch
    {
        ErrorKind.InvalidValue => "ValueError",
        ErrorKind.MissingArgument => "TypeError",
        ErrorKind.NotFound => "IndexError",
        ErrorKind.InvalidDType => "AssertionError",
        ErrorKind.InvalidShape => "ValueError",
        ErrorKind.NotSupported => "NotImplementedError",
        _ => "Exception",
    };

    /// <summary>Shorthand for an <see cref="ErrorKind.InvalidValue"/> error.</summary>
    public static OmniError Invalid(string message) => new(ErrorKind.InvalidValue, message);

    /// <inheritdoc />
    public override string ToString() => $"{Kind}: {Message}";
}
