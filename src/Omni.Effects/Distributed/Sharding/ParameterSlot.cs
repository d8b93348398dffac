using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Omni.Effects.Distributed.Sharding;

/// <summary>
/// Where a module keeps one parameter: the module that registers it, the name it is registered under, and the field its
/// <c>forward</c> reads (found the way TorchSharp's own <c>Module.to</c> finds it: by component name). Sharding keeps the
/// registry and the field apart: the registry holds the local shard (what <c>named_parameters()</c>, optimizers and
/// checkpoints see), the field holds the gathered full tensor while a unit computes. A module that reads a parameter
/// through no field cannot be sharded this way, and says so.
/// </summary>
internal sealed class ParameterSlot
{
    private static readonly MethodInfo Register = typeof(nn.Module).GetMethod("ConditionallyRegisterParameter",
        BindingFlags.NonPublic | BindingFlags.Instance, [typeof(string), typeof(Parameter)])
        ?? throw new MissingMethodException("TorchSharp's Module.ConditionallyRegisterParameter(string, Parameter) is missing; this TorchSharp version cannot be sharded.");

    private readonly FieldInfo _field;

    private ParameterSlot(nn.Module owner, string localName, FieldInfo field) => (Owner, LocalName, _field) = (owner, localName, field);

    /// <summary>The module that registers the parameter.</summary>
    public nn.Module Owner { get; }

    /// <summary>The name it is registered under in <see cref="Owner"/>.</summary>
    public string LocalName { get; }

    /// <summary>Finds the slot of <paramref name="fullName"/> (a <c>named_parameters()</c> key) in <paramref name="modules"/>.</summary>
    /// <exception cref="NotSupportedException">No field of the owning module holds the parameter.</exception>
    public static ParameterSlot Find(IReadOnlyDictionary<string, nn.Module> modules, string fullName, Parameter parameter)
    {
        var split = fullName.LastIndexOf('.');
        var (path, local) = split < 0 ? ("", fullName) : (fullName[..split], fullName[(split + 1)..]);
        if (!modules.TryGetValue(path, out var owner))
            throw new NotSupportedException($"Cannot shard '{fullName}': no module is registered at '{path}'.");
        for (var type = owner.GetType(); type is not null && type != typeof(object); type = type.BaseType)
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                if (typeof(Tensor).IsAssignableFrom(field.FieldType) && field.ComponentName() == local
                    && field.GetValue(owner) is Tensor held && held.Handle == parameter.Handle)
                {
                    if (!field.FieldType.IsAssignableFrom(typeof(Parameter)))
                        throw new NotSupportedException($"Cannot shard '{fullName}': {owner.GetType().Name}.{field.Name} is a {field.FieldType.Name}, not a Parameter field.");
                    return new ParameterSlot(owner, local, field);
                }
        throw new NotSupportedException(
            $"Cannot shard '{fullName}': {owner.GetType().Name} reads it through no field named '{local}' (TorchSharp's component-name rule). " +
            "Shard such a model with DDP, or keep the parameter in a field of that name.");
    }

    /// <summary>What <c>forward</c> currently reads.</summary>
    public Parameter Current => (Parameter)_field.GetValue(Owner)!;

    /// <summary>Makes <c>forward</c> read <paramref name="value"/> (the registry is untouched).</summary>
    public void Show(Parameter value) => _field.SetValue(Owner, value);

    /// <summary>Registers <paramref name="value"/> under the parameter's name (what <c>named_parameters()</c> returns).</summary>
    public void Hold(Parameter value) => Register.Invoke(Owner, [LocalName, value]);
}
