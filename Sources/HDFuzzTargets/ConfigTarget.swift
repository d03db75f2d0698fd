// A YAML config file through what `hyper-derp --config` and `hdctl
// check-config` do with it: parse, decode against the schema, validate,
// render the diagnostics (human and JSON) and, when valid, the effective
// config. No file or host checks: those read the machine, not the input.
import HDConfig
import HDProtocol

extension FuzzTargets {
  static let config = FuzzTarget(
    name: "config-yaml",
    summary: "YAML config: load + validate + check-config rendering + effective-config round trip",
    maxInputBytes: 8_192
  ) { raw, checks throws(FuzzFailure) in
    let bytes = Array(raw)
    let file = "fuzz.yaml"
    let options = ConfigCheckOptions(checkReferencedFiles: false, checkHost: false, nowSeconds: 1_800_000_000)
    let result = ConfigCheck.check(bytes: bytes, file: file, options: options)
    let lines = yamlLineCount(bytes)
    for d in result.diagnostics {
      try checks.require(!d.message.isEmpty, "diagnostic \(d.code) without a message")
      if d.file == file, let line = d.line {
        try checks.require(line >= 1 && line <= lines, "diagnostic at line \(line) of a \(lines)-line file")
        if let column = d.column { try checks.require(column >= 1, "diagnostic at column \(column)") }
      }
    }
    _ = DiagnosticRenderer.human(result.diagnostics)
    let json = DiagnosticRenderer.json(result.diagnostics)
    do throws(JSONValue.ParseError) {
      _ = try JSONValue.parse(Array(json.utf8))
    } catch {
      throw checks.fail("check-config --format json output is not JSON: \(error)")
    }
    guard result.isValid else { return }
    // The effective config is itself a valid config meaning the same thing.
    let effective = result.config.effectiveYAML()
    let again = ConfigCheck.check(bytes: Array(effective.utf8), file: "effective.yaml", options: options)
    try checks.require(again.isValid, "effective config of a valid file is invalid: "
                         + again.diagnostics.map(\.message).joined(separator: "; "))
    try checks.require(again.config == result.config, "effective config reads back differently")
  }

  /// Lines as YAML counts them: CRLF, CR, LF, NEL, LS and PS all break a line
  /// (a first finding was this check counting only LF).
  private static func yamlLineCount(_ bytes: [UInt8]) -> Int {
    var lines = 1
    var i = 0
    while i < bytes.count {
      switch bytes[i] {
      case 0x0A: lines += 1
      case 0x0D: lines += 1; if i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 1 }
      case 0xC2 where i + 1 < bytes.count && bytes[i + 1] == 0x85: lines += 1; i += 1
      case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
        lines += 1; i += 2
      default: break
      }
      i += 1
    }
    return lines
  }
}
