using LanguageExt;

namespace Omni.Algebra.Errors;

/// <summary>Turns core results into values or exceptions at the boundary.</summary>
public static class Results
{
    /// <summary>Returns the right value or throws an <see cref="OmniException"/> carrying the error.</summary>
    public static T OrThrow<T>(this Either<OmniError, T> result) =>
        result.Match(Right: value => value, Left: error => throw new OmniException([error]));

    /// <summary>Returns the success value or throws an <see cref="OmniException"/> listing every error.</summary>
    public static T OrThrow<T>(this Validation<OmniError, T> result) =>
        result.Match(Succ: value => value, Fail: errors => throw new OmniException(errors.ToList()));

    /// <summary>The error of a failed result, for tests and diagnostics.</summary>
    public static Option<OmniError> ErrorOf<T>(this Either<OmniError, T> result) =>
        result.Match(Right: _ => Option<OmniError>.None, Left: e => Option<OmniError>.Some(e));
}
