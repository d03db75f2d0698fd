// `hdctl check-config` as a function from arguments to output and exit code,
// so tests run exactly what the binary runs.

import HDConfig

public enum CheckConfigRunner {
  public struct Outcome: Sendable {
    public var output: String
    public var exitCode: Int32
  }

  public static func run(_ arguments: ParsedArguments, options base: ConfigCheckOptions = ConfigCheckOptions()) -> Outcome {
    let paths = arguments.positionals.isEmpty ? [HdctlCommands.defaultConfigPath] : arguments.positionals
    var options = base
    if arguments.has("--syntax-only") {
      options.checkReferencedFiles = false
      options.checkHost = false
    }
    let strict = arguments.has("--strict")
    let json = arguments.value("--format") == "json"
    var everything: [Diagnostic] = []
    var output = ""
    var failed = false
    for path in paths {
      let diagnostics = ConfigLoader.check(path: path, options: options).diagnostics
      everything += diagnostics
      let fails = diagnostics.hasErrors || (strict && diagnostics.hasWarnings)
      failed = failed || fails
      if !json {
        output += DiagnosticRenderer.human(diagnostics)
        output += summary(path, diagnostics, fails: fails) + "\n"
      }
    }
    if json { output = DiagnosticRenderer.json(everything) }
    return Outcome(output: output, exitCode: failed ? 1 : 0)
  }

  private static func summary(_ path: String, _ diagnostics: [Diagnostic], fails: Bool) -> String {
    if diagnostics.isEmpty { return "\(path): ok" }
    let errors = diagnostics.filter { $0.severity == .error }.count
    let warnings = diagnostics.count - errors
    func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
    return "\(path): \(fails ? "invalid" : "ok"), \(count(errors, "error")), \(count(warnings, "warning"))"
  }
}
