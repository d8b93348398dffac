using System.CommandLine;
using Omni.Cli.Commands;

// Ctrl-C is handled per command (stop after the current step, keep a checkpoint), so the parser must not kill the process.
var root = new RootCommand("omni — RL fine-tuning for flow-matching text-to-image models (FlowGRPO family) on TorchSharp.")
{
    TrainCommand.Create(),
    PretrainCommand.Create(),
    SampleCommand.Create(),
    EvalCommand.Create(),
};
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
