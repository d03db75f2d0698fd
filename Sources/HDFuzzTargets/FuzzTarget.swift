// One fuzz target: bytes in, the parser run on them, its invariants checked.
// libFuzzer (Fuzz/, `make fuzz`) and the corpus replay test call the same
// `run`, so what the fuzzer searched is what CI replays.

/// An invariant a parser broke on some input (a crash is a finding too, but
/// libFuzzer reports that one itself).
public struct FuzzFailure: Error, CustomStringConvertible {
  public let target: String
  public let description: String

  init(_ target: String, _ description: String) {
    self.target = target
    self.description = "\(target): \(description)"
  }
}

public struct FuzzTarget: Sendable {
  /// Names the corpus directory (Tests/FuzzCorpus/<name>) and the fuzzer's --target.
  public let name: String
  /// What it feeds and what it checks, for `make fuzz`'s report.
  public let summary: String
  /// Longest input worth generating (libFuzzer -max_len).
  public let maxInputBytes: Int
  let body: @Sendable (UnsafeRawBufferPointer, inout Checks) throws(FuzzFailure) -> Void

  init(name: String, summary: String, maxInputBytes: Int,
       body: @escaping @Sendable (UnsafeRawBufferPointer, inout Checks) throws(FuzzFailure) -> Void) {
    self.name = name
    self.summary = summary
    self.maxInputBytes = maxInputBytes
    self.body = body
  }

  /// Runs the target on one input; throws the first invariant it breaks.
  public func run(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
    var checks = Checks(target: name)
    try body(input, &checks)
  }

  public func run(_ input: [UInt8]) throws(FuzzFailure) {
    var failure: FuzzFailure?
    input.withUnsafeBytes { bytes in
      do throws(FuzzFailure) { try run(bytes) } catch { failure = error }
    }
    if let failure { throw failure }
  }
}

/// Invariant checking with the target's name attached.
struct Checks {
  let target: String

  func require(_ condition: Bool, _ why: @autoclosure () -> String) throws(FuzzFailure) {
    if !condition { throw FuzzFailure(target, why()) }
  }

  func fail(_ why: String) -> FuzzFailure { FuzzFailure(target, why) }
}
