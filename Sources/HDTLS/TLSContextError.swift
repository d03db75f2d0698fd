// Why a certificate/key pair could not become a server context. Thrown at
// startup and on SIGHUP reload (where the old context stays in service).

/// A failure to build a `TLSServerContext` or a client context.
public struct TLSContextError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable {
    case certificateUnreadable
    case keyUnreadable
    case keyDoesNotMatchCertificate
    case metaCertificate
    case openSSL
  }

  public let kind: Kind
  /// Human-readable detail including the path and OpenSSL's own reason.
  public let detail: String

  public init(_ kind: Kind, _ detail: String) {
    self.kind = kind
    self.detail = detail
  }

  public var description: String { detail }
}
