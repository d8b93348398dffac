namespace Omni.Cli.Cli;

/// <summary>The process exit codes of <c>omni</c>.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected failure (a bug or an environment problem); the message says what.</summary>
    public const int Failure = 1;

    /// <summary>Bad input: a missing folder, an unknown architecture, an invalid value.</summary>
    public const int BadInput = 2;

    /// <summary>The run finished without changing the weights: every step skipped its update (the message says why).</summary>
    public const int NoUpdate = 3;

    /// <summary>Stopped by Ctrl-C after writing a resumable checkpoint.</summary>
    public const int Interrupted = 130;
}
