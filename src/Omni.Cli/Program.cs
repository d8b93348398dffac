using System.CommandLine;
using Omni.Cli.Commands;

// Every command that runs a model chooses its device (CliDevice.Select → TorchBackend.Initialize) before its first torch
// call: CUDA can only come up in a process that has not loaded libtorch's CPU libraries yet. Nothing here touches torch.
// Ctrl-C is handled per command (stop after the current step, keep a checkpoint), so the parser must not kill the process.
var root = new RootCommand("omni — RL fine-tuning for flow-matching text-to-image models (FlowGRPO family) on TorchSharp.")
{
    TrainCommand.Create(),
    PretrainCommand.Create(),
    SampleCommand.Create(),
    EvalCommand.Create(),
    DoctorCommand.Create(),
};
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
