// Why an ACME step failed, in words for the log and a class for the retry
// policy and the metrics label.

struct ACMEError: Error, CustomStringConvertible {
  enum Kind: String, CaseIterable {
    /// The CA could not be reached or did not answer in time.
    case unreachable
    /// The CA answered with an RFC 7807 problem document.
    case rejected
    /// A challenge (or the whole authorization) was found invalid.
    case challenge
    /// The CA's answer made no sense (missing fields, unexpected status).
    case protocolViolation = "protocol"
    /// A local step failed: keys, CSR, cache files.
    case local
    /// The relay is stopping.
    case stopped
  }

  let kind: Kind
  let message: String
  /// The ACME error type (`urn:ietf:params:acme:error:…`), when the CA sent one.
  var problemType: String?

  init(_ kind: Kind, _ message: String, problemType: String? = nil) {
    self.kind = kind
    self.message = message
    self.problemType = problemType
  }

  var description: String { message }
}
