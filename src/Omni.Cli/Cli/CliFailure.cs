using Omni.Algebra.Errors;

namespace Omni.Cli.Cli;

/// <summary>Turns exceptions into one clear message and an exit code.</summary>
public static class CliFailure
{
    /// <summary>Runs <paramref name="action"/>; bad input becomes exit code 2 with its message on stderr, anything else 1.</summary>
    public static async Task<int> Guard(Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception e) when (IsBadInput(e))
        {
            Console.Error.WriteLine($"omni: {Message(e)}");
            return ExitCodes.BadInput;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("omni: interrupted; the checkpoint is kept — run the same command to resume.");
            return ExitCodes.Interrupted;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"omni: unexpected failure: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine("      (set OMNI_DEBUG=1 for the stack trace)");
            if (Environment.GetEnvironmentVariable("OMNI_DEBUG") == "1") Console.Error.WriteLine(e);
            return ExitCodes.Failure;
        }
    }

    /// <summary>Whether <paramref name="e"/> reports input the user can fix (exit code 2).</summary>
    public static bool IsBadInput(Exception e) => e is OmniException or ArgumentException or FileNotFoundException
        or DirectoryNotFoundException or InvalidDataException or Omni.Effects.Safetensors.SafetensorsException
        || (e is InvalidOperationException && e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase));

    /// <summary>The message of <paramref name="e"/> (every error of an <see cref="OmniException"/>).</summary>
    public static string Message(Exception e) => e switch
    {
        OmniException o => string.Join(Environment.NewLine + "       ", o.Errors.Select(x => x.Message)),
        InvalidOperationException { InnerException: { } inner } i => $"{i.Message} {inner.Message}",
        _ => e.Message,
    };
}
