// The metrics server's request-head parser (HDMetrics.HTTPRequestParser).
import HDMetrics

extension FuzzTargets {
  static let metricsHTTP = FuzzTarget(
    name: "metrics-http",
    summary: "metrics/health/debug server request head (keep-alive framing, smuggling checks)",
    maxInputBytes: 10_000
  ) { raw, checks throws(FuzzFailure) in
    let bytes = Array(raw)
    let parser = HTTPRequestParser()
    // The server parses from wherever the previous request ended: a slice
    // that does not start at index 0 must behave the same.
    let padded = [UInt8](repeating: 0x41, count: 3) + bytes
    let parse = { (slice: ArraySlice<UInt8>) in
      Result(catching: { () throws(HTTPRequestError) in try parser.parse(slice) })
    }
    let direct = parse(bytes[...])
    let sliced = parse(padded[3...])
    try checks.require(direct == sliced, "a slice not starting at 0 parses differently: \(direct) vs \(sliced)")
    guard case .success(let outcome) = direct else { return }
    switch outcome {
    case .incomplete:
      try checks.require(bytes.count < parser.maxHeadBytes, "incomplete at \(bytes.count) bytes, over the limit")
    case .complete(let head, let consumed):
      try checks.require(consumed > 0 && consumed <= bytes.count && consumed <= parser.maxHeadBytes,
                         "consumed \(consumed) of \(bytes.count)")
      try checks.require(bytes[consumed - 1] == UInt8(ascii: "\n"), "head does not end at a line feed")
      try checks.require(head.path.hasPrefix("/"), "path '\(head.path)' is not absolute")
      try checks.require(head.minorVersion == 0 || head.minorVersion == 1, "HTTP/1.\(head.minorVersion) accepted")
      try checks.require(!head.method.isEmpty, "empty method")
      // The head alone parses to the same result (bytes after it are the next request's).
      let alone = parse(bytes[0..<consumed])
      try checks.require(alone == .success(outcome), "the head alone parses differently: \(alone)")
    }
  }
}
