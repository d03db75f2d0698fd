// Errors the relay reports while starting; the data plane itself never throws.

/// Why `Relay` could not be created or started.
public struct RelayError: Error, CustomStringConvertible, Sendable {
  public let description: String

  public init(_ description: String) {
    self.description = description
  }

  /// A failed system call with its errno text.
  static func system(_ what: String, errno code: Int32) -> RelayError {
    RelayError("\(what): \(errnoText(code)) (errno \(code))")
  }
}
