// hyper-derp: the DERP relay daemon. Parses the command line (HDConfig),
// answers the one-shot actions, and otherwise hands over to DaemonRunner
// (HDRelay/Lifecycle), which owns signals, systemd notification and stopping.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import HDCLI
import HDConfig
import HDRelay

let invocation = DaemonCommandLine.parse(Array(CommandLine.arguments.dropFirst()))

switch invocation.action {
case .help:
  print(HelpRenderer.commandHelp(DaemonCommand.tool, DaemonCommand.spec))
  exit(0)
case .version:
  print("hyper-derp \(ProductVersion.current)")
  exit(0)
case .checkConfig:
  exit(DaemonActions.checkConfig(invocation))
case .printConfig:
  exit(DaemonActions.printConfig(invocation))
case .run:
  guard !invocation.diagnostics.hasErrors else {
    DaemonActions.printDiagnostics(invocation.diagnostics, to: 2)
    DaemonActions.writeLine("hyper-derp: refusing to start with configuration errors", to: 2)
    exit(1)
  }
  let runner = DaemonRunner(invocation: invocation)
  exit(runner.run(startServices: DaemonServices.start))
}
