// A small option parser: `--name value` and `--flag`, every option declared,
// unknown or malformed options rejected with a clear message (no flag is
// parsed and then ignored).

struct Arguments {
  var values: [String: String] = [:]
  var flags: Set<String> = []
  var used: Set<String> = []

  /// `valueOptions` take a value; `flagOptions` don't.
  init(_ args: [String], valueOptions: Set<String>, flagOptions: Set<String>) throws(BenchError) {
    var i = 0
    while i < args.count {
      let arg = args[i]
      guard arg.hasPrefix("--") else { throw .usage("unexpected argument '\(arg)'") }
      var name = String(arg.dropFirst(2))
      var inline: String?
      if let eq = name.firstIndex(of: "=") {
        inline = String(name[name.index(after: eq)...])
        name = String(name[..<eq])
      }
      if flagOptions.contains(name) {
        guard inline == nil else { throw .usage("--\(name) takes no value") }
        flags.insert(name)
      } else if valueOptions.contains(name) {
        if let inline {
          values[name] = inline
        } else {
          guard i + 1 < args.count else { throw .usage("--\(name) needs a value") }
          i += 1
          values[name] = args[i]
        }
      } else {
        throw .usage("unknown option --\(name)")
      }
      i += 1
    }
  }

  func flag(_ name: String) -> Bool { flags.contains(name) }

  func string(_ name: String, _ fallback: String) -> String { values[name] ?? fallback }

  func int(_ name: String, _ fallback: Int, range: ClosedRange<Int>) throws(BenchError) -> Int {
    guard let text = values[name] else { return fallback }
    guard let v = Int(text), range.contains(v) else {
      throw .usage("--\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
    }
    return v
  }

  func double(_ name: String, _ fallback: Double, range: ClosedRange<Double>) throws(BenchError) -> Double {
    guard let text = values[name] else { return fallback }
    guard let v = Double(text), range.contains(v) else {
      throw .usage("--\(name) must be a number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
    }
    return v
  }

  func optionalInt(_ name: String, range: ClosedRange<Int>) throws(BenchError) -> Int? {
    guard values[name] != nil else { return nil }
    return try int(name, 0, range: range)
  }
}
