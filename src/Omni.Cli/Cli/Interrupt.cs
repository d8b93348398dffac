namespace Omni.Cli.Cli;

/// <summary>
/// Ctrl-C handling for long runs: the first press asks the run to stop after the current step (it then writes a
/// resumable checkpoint); a second press ends the process at once.
/// </summary>
public sealed class Interrupt : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly ConsoleCancelEventHandler _handler;

    /// <summary>Starts listening for Ctrl-C; <paramref name="announce"/> says so on the console (rank 0 of a multi-rank job only).</summary>
    public Interrupt(bool announce = true)
    {
        _handler = (_, e) =>
        {
            if (_source.IsCancellationRequested) return;
            e.Cancel = true;
            if (announce)
            {
                Console.Error.WriteLine();
                Console.Error.WriteLine("omni: stopping after the current step (Ctrl-C again to quit now)…");
            }
            _source.Cancel();
        };
        Console.CancelKeyPress += _handler;
    }

    /// <summary>Cancelled when the user asked to stop.</summary>
    public CancellationToken Token => _source.Token;

    /// <inheritdoc />
    public void Dispose()
    {
        Console.CancelKeyPress -= _handler;
        _source.Dispose();
    }
}
