// --check-config and --print-config: validate or show the effective
// configuration and exit (0 = usable, 1 = errors), without starting anything.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import HDConfig

enum DaemonActions {
  static func checkConfig(_ invocation: DaemonInvocation) -> Int32 {
    let diagnostics = invocation.diagnostics
    if diagnostics.isEmpty {
      writeLine("\(invocation.configPath ?? "built-in defaults"): configuration OK", to: 1)
      return 0
    }
    printDiagnostics(diagnostics, to: 1)
    let errors = diagnostics.filter(\.isError).count
    writeLine("\(errors) error(s), \(diagnostics.count - errors) warning(s)", to: 1)
    return errors > 0 ? 1 : 0
  }

  static func printConfig(_ invocation: DaemonInvocation) -> Int32 {
    if invocation.diagnostics.hasErrors {
      printDiagnostics(invocation.diagnostics, to: 2)
      return 1
    }
    printDiagnostics(invocation.diagnostics, to: 2)  // warnings only
    writeLine(invocation.config.effectiveYAML(), to: 1, newline: false)
    return 0
  }

  static func printDiagnostics(_ diagnostics: [Diagnostic], to fd: Int32) {
    guard !diagnostics.isEmpty else { return }
    writeLine(DiagnosticRenderer.human(diagnostics), to: fd)
  }

  static func writeLine(_ text: String, to fd: Int32, newline: Bool = true) {
    var bytes = Array(text.utf8)
    if newline && bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n <= 0 {
        if n < 0 && errno == EINTR { continue }
        return
      }
      offset += n
    }
  }
}
