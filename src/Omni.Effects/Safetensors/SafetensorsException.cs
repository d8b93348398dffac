namespace Omni.Effects.Safetensors;

/// <summary>A safetensors file that cannot be read; the message names the file and the problem.</summary>
public sealed class SafetensorsException(string message, Exception? inner = null) : IOException(message, inner);
