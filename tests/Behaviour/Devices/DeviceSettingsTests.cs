using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Omni.Algebra.Devices;
using Omni.Algebra.Errors;
using Omni.Effects.Devices;
using Omni.Facade.DependencyInjection;
using Omni.Training.Options;

namespace Omni.Tests.Behaviour.Devices;

/// <summary>Device strings, the precision setting, and how a process that already runs on one backend answers later requests.</summary>
public sealed class DeviceSettingsTests
{
    [Theory]
    [InlineData("auto", DeviceKind.Auto, null)]
    [InlineData(" CPU ", DeviceKind.Cpu, null)]
    [InlineData("cuda", DeviceKind.Cuda, null)]
    [InlineData("cuda:3", DeviceKind.Cuda, 3)]
    public void Device_strings_parse_like_pytorch(string text, DeviceKind kind, int? index)
    {
        var request = DeviceRequest.Parse(text).OrThrow();
        Assert.Equal(new DeviceRequest(kind, index), request);
        Assert.Equal(text.Trim().ToLowerInvariant(), request.ToString());
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("")]
    public void A_bad_device_string_names_itself_and_the_accepted_ones(string text)
    {
        var error = DeviceRequest.Parse(text).ErrorOf().IfNone(() => throw new Xunit.Sdk.XunitException($"'{text}' parsed"));
        Assert.Contains($"'{text}'", error.Message);
        Assert.Contains(DeviceRequest.Spellings, error.Message);
    }

    [Theory]
    [InlineData("bf16-mixed", TrainingPrecision.Bf16Mixed)]
    [InlineData("Bf16Mixed", TrainingPrecision.Bf16Mixed)]
    [InlineData("float32", TrainingPrecision.Float32)]
    public void Training_precision_binds_from_configuration_in_either_spelling(string value, TrainingPrecision expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("training:Precision", value)]).Build();
        var options = new TrainingOptions();
        configuration.GetSection("training").Bind(options);
        Assert.Equal(expected, options.Precision);
        Assert.Equal(expected, TrainingPrecisions.Parse(expected.Name()).OrThrow());
    }

    [Theory]
    [InlineData("bf16-mixed", TrainingPrecision.Bf16Mixed)]
    [InlineData("BF16_MIXED", TrainingPrecision.Bf16Mixed)]
    [InlineData("Bf16Mixed", TrainingPrecision.Bf16Mixed)]
    [InlineData("fp32", TrainingPrecision.Float32)]
    public void The_validating_binding_of_the_cli_takes_the_same_spellings(string value, TrainingPrecision expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("training:Precision", value)]).Build();
        var options = Omni.Facade.Configuration.TrainingOptionsBinding.Bind(configuration.GetSection("training"), new TrainingOptions()).OrThrow();
        Assert.Equal(expected, options.Precision);
        var bad = new ConfigurationBuilder().AddInMemoryCollection([new("training:Precision", "fp8")]).Build();
        var error = Assert.Single(Omni.Facade.Configuration.TrainingOptionsBinding.Bind(bad.GetSection("training"), new TrainingOptions())
            .Match(Succ: _ => [], Fail: e => e.ToList()));
        Assert.Contains("training:Precision", error.Message);
        Assert.Contains("fp8", error.Message);
    }

    [Fact]
    public void A_bad_precision_is_a_configuration_error_that_names_the_value()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("training:Precision", "fp8")]).Build();
        var error = Assert.Throws<InvalidOperationException>(() => configuration.GetSection("training").Bind(new TrainingOptions()));
        Assert.Contains("fp8", error.InnerException?.Message ?? error.Message);
    }

    [Fact]
    public void A_process_on_the_cpu_refuses_a_later_cuda_request_and_says_why()
    {
        if (TestDevice.IsCuda) return;   // a CUDA test host answers a CPU request with the CPU device instead
        Assert.Equal(BackendKind.Cpu, TestDevice.Backend.Kind);
        var error = TorchBackend.TryInitialize(DeviceSettings.For(DeviceRequest.Cuda())).ErrorOf().IfNone(() => throw new Xunit.Sdk.XunitException("CUDA came up"));
        Assert.Contains("already runs on the CPU backend", error.Message);
        Assert.Equal(BackendKind.Cpu, TorchBackend.TryInitialize(DeviceSettings.For(DeviceRequest.Auto)).OrThrow().Kind);
        Assert.Same(TestDevice.Backend, TorchBackend.Current);
    }

    [Fact]
    public void The_backend_reports_where_its_libtorch_was_loaded_from()
    {
        var backend = TorchBackend.Current!;
        Assert.True(File.Exists(Path.Combine(backend.LibTorchFolder, TestDevice.IsCuda ? "libtorch_cuda.so" : "libtorch_cpu.so")), backend.LibTorchFolder);
        Assert.StartsWith("device ", backend.Describe());
        Assert.Contains(backend.LibTorchFolder, backend.Describe());
        Assert.NotEmpty(backend.Devices);
    }

    [Fact]
    public void Dependency_injection_binds_the_device_section_and_validates_it_on_start()
    {
        var good = Services(("omni:device", "cpu"));
        Assert.Equal("cpu", good.GetRequiredService<IOptions<OmniDeviceOptions>>().Value.Device);
        if (!TestDevice.IsCuda) Assert.Equal(BackendKind.Cpu, good.GetRequiredService<BackendInfo>().Kind);
        var bad = Services(("omni:device", "tpu"));
        var error = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<OmniDeviceOptions>>().Value);
        Assert.Contains("omni:device", error.Message);
    }

    private static ServiceProvider Services(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
        return new ServiceCollection().AddOmni(configuration).BuildServiceProvider();
    }
}
