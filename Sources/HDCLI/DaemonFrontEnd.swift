// What `hyper-derp` does before the relay starts: --help, --version,
// --print-config, --check-config and refusing an invalid configuration. A pure
// function of the invocation, so it is tested without starting a daemon.

import HDConfig

public enum DaemonFrontEnd {
  public struct Response: Sendable, Equatable {
    public var standardOutput: String
    public var standardError: String
    public var exitCode: Int32
  }

  public static var helpText: String { HelpRenderer.toolHelp(DaemonCommand.tool) }
  public static var versionText: String { "hyper-derp \(ProductVersion.current)\n" }

  /// The response for every action except a valid `.run`, for which it returns
  /// nil: then start the relay (and log `invocation.diagnostics`, all warnings).
  public static func respond(to invocation: DaemonInvocation) -> Response? {
    let rendered = DiagnosticRenderer.human(invocation.diagnostics)
    let failed = invocation.diagnostics.hasErrors
    switch invocation.action {
    case .help:
      return Response(standardOutput: helpText, standardError: "", exitCode: 0)
    case .version:
      return Response(standardOutput: versionText, standardError: "", exitCode: 0)
    case .checkConfig:
      let summary = failed ? "configuration invalid\n" : "configuration ok\n"
      return Response(standardOutput: "", standardError: rendered + summary, exitCode: failed ? 1 : 0)
    case .printConfig:
      // Print even with warnings; refuse to print a config the daemon would not run.
      if failed { return Response(standardOutput: "", standardError: rendered, exitCode: 1) }
      return Response(standardOutput: invocation.config.effectiveYAML(), standardError: rendered, exitCode: 0)
    case .run:
      if failed {
        return Response(standardOutput: "", standardError: rendered + "hyper-derp: not starting: the configuration has errors\n", exitCode: 1)
      }
      return nil
    }
  }
}
