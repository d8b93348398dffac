namespace Omni.Algebra.Schedules;

/// <summary>How dynamic shifting maps a sigma with the shift parameter <c>mu</c> (diffusers' <c>time_shift_type</c>).</summary>
public enum TimeShiftType
{
    /// <summary><c>σ' = e^μ / (e^μ + (1/σ − 1))</c> — the diffusers default.</summary>
    Exponential,
    /// <summary><c>σ' = μ / (μ + (1/σ − 1))</c>.</summary>
    Linear,
}
