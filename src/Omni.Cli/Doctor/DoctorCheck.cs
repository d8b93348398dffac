namespace Omni.Cli.Doctor;

/// <summary>One parity check of <c>omni doctor</c>.</summary>
/// <param name="Group">What it checks (schedules, sde, model, bf16).</param>
/// <param name="Name">The case.</param>
/// <param name="Passed">Whether every compared tensor was within its tolerance.</param>
/// <param name="WorstShare">The largest error seen as a share of the allowed error (≤ 1 passes).</param>
/// <param name="Detail">The worst comparison, or the failure.</param>
public sealed record DoctorCheck(string Group, string Name, bool Passed, double WorstShare, string Detail);
