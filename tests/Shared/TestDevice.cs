using System.Runtime.CompilerServices;
using Omni.Algebra.Devices;
using Omni.Algebra.Errors;
using Omni.Effects.Devices;
using TorchSharp;
using static TorchSharp.torch;

namespace Omni.Tests;

/// <summary>
/// The device a test host runs its suites on: <c>OMNI_TEST_DEVICE</c> (<c>cpu</c> by default; <c>cuda</c>, <c>cuda:N</c>
/// or <c>auto</c>), brought up by this assembly's module initializer before any test makes a tensor — CUDA can only come
/// up in a process that has not loaded libtorch yet. A CUDA request that cannot be met fails every test with the message
/// that lists the locations tried, never a silent CPU run. Linked into every test project from tests/Shared.
/// </summary>
public static class TestDevice
{
    /// <summary>The environment variable that chooses the device.</summary>
    public const string Variable = "OMNI_TEST_DEVICE";

    /// <summary>The backend of this test host.</summary>
    public static BackendInfo Backend { get; } = TorchBackend.Initialize(
        DeviceSettings.For(DeviceRequest.Parse(Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } v ? v : "cpu").OrThrow()));

    /// <summary>The device tensors and models of the suites go to.</summary>
    public static Device Device => Backend.Device;

    /// <summary>Whether the suites run on CUDA.</summary>
    public static bool IsCuda => Device.type == DeviceType.CUDA;

    /// <summary>The golden tolerances of this device (tests/Golden/Fixtures/README.md).</summary>
    public static ParityTolerances Tolerances => ParityTolerances.For(Device.type);

    /// <summary><paramref name="tensor"/> on the test device (itself when already there).</summary>
    public static Tensor OnTestDevice(this Tensor tensor) => tensor.On(Device);

    /// <summary><paramref name="module"/> moved to the test device.</summary>
    public static T OnTestDevice<T>(this T module) where T : nn.Module => module.MoveTo(Device);

#pragma warning disable CA2255 // A test host is an application: choosing the backend first is exactly what it must do.
    [ModuleInitializer]
    internal static void ChooseBackendFirst() => _ = Backend;
#pragma warning restore CA2255
}
