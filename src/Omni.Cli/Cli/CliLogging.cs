using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Omni.Cli.Cli;

/// <summary>
/// The CLI's logging: the libraries' <c>ILogger</c> output on standard error, one line per event, Warning and above by
/// default (the progress display on standard output covers the rest). The configuration's <c>Logging</c> section changes
/// it as in any .NET host, e.g. <c>--set Logging:LogLevel:Default=Information</c> or <c>OMNI_Logging__LogLevel__Omni=Debug</c>.
/// </summary>
public static class CliLogging
{
    /// <summary>A logger factory for one command; dispose it to flush the console queue before exiting.</summary>
    public static ILoggerFactory Create(IConfiguration configuration) => LoggerFactory.Create(logging =>
    {
        logging.SetMinimumLevel(LogLevel.Warning);
        logging.AddConfiguration(configuration.GetSection("Logging"));
        logging.AddSimpleConsole(console => console.SingleLine = true);
        logging.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
    });
}
