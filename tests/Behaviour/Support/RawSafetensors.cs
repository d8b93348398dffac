using System.Text;

namespace Omni.Tests.Behaviour.Support;

/// <summary>Hand-made safetensors bytes, for files the writer would never produce.</summary>
public static class RawSafetensors
{
    public static byte[] Bytes(string headerJson, byte[] data, long? declaredHeaderLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        return [.. BitConverter.GetBytes(declaredHeaderLength ?? header.Length), .. header, .. data];
    }

    public static string File(string directory, string name, byte[] bytes)
    {
        var path = Path.Combine(directory, name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }
}
