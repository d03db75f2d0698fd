// hdctl check-config [PATH...] [--format text|json] [--strict] [--syntax-only]

import HDCLI
import HDConfig

func runCheckConfig(_ arguments: ParsedArguments) -> Int32 {
  let paths = arguments.positionals.isEmpty ? [HdctlCommands.defaultConfigPath] : arguments.positionals
  let options = arguments.has("--syntax-only") ? ConfigCheckOptions.syntaxOnly : ConfigCheckOptions()
  let strict = arguments.has("--strict")
  let json = arguments.value("--format") == "json"
  var everything: [Diagnostic] = []
  var failed = false
  for path in paths {
    let diagnostics = ConfigLoader.check(path: path, options: options).diagnostics
    everything += diagnostics
    let fails = diagnostics.hasErrors || (strict && diagnostics.hasWarnings)
    failed = failed || fails
    if !json {
      print(DiagnosticRenderer.human(diagnostics), terminator: "")
      print(summary(path, diagnostics, fails: fails))
    }
  }
  if json { print(DiagnosticRenderer.json(everything), terminator: "") }
  return failed ? 1 : 0
}

private func summary(_ path: String, _ diagnostics: [Diagnostic], fails: Bool) -> String {
  let errors = diagnostics.filter { $0.severity == .error }.count
  let warnings = diagnostics.count - errors
  if diagnostics.isEmpty { return "\(path): ok" }
  func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
  return "\(path): \(fails ? "invalid" : "ok"), \(count(errors, "error")), \(count(warnings, "warning"))"
}
