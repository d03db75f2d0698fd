// Errors from starting the metrics server; once running it never throws.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

public struct MetricsServerError: Error, CustomStringConvertible, Sendable {
  public let description: String

  public init(_ description: String) {
    self.description = description
  }

  static func system(_ what: String, errno code: Int32) -> MetricsServerError {
    MetricsServerError("\(what): \(errnoDescription(code)) (errno \(code))")
  }
}

func errnoDescription(_ code: Int32) -> String {
  guard let text = strerror(code) else { return "errno \(code)" }
  return String(cString: text)
}
