// What the ACME thread reports to /health and /metrics: the certificate in
// service, when it renews, and how issuance has gone.

public struct ACMEStatus: Sendable, Equatable {
  /// Identifiers the certificate is for, as configured.
  public var identifiers: [String] = []
  /// True while a certificate is in service on the DERP port.
  public var serving = false
  /// The certificate in service (leaf).
  public var certificateSerialHex: String?
  public var certificateNotAfterSeconds: Int64?
  /// When the next order starts (renewal, or the next retry after a failure).
  public var nextAttemptSeconds: Int64?
  /// Orders in a row that failed; 0 after a success.
  public var consecutiveFailures = 0
  /// The last failure, in words (domain and ACME error included); nil after a success.
  public var lastError: String?
  public var lastErrorSeconds: Int64?
  /// Certificates obtained since start.
  public var issuedTotal: UInt64 = 0
  /// Failed orders since start, by `ACMEFailureKind` label.
  public var failuresTotal: [String: UInt64] = [:]
  /// Cache files found unusable (corrupt, mismatched, expired) and not served.
  public var cacheRejectedTotal: UInt64 = 0
  /// Challenge answers given: TLS-ALPN-01 handshakes and HTTP-01 requests.
  public var tlsALPNAnswered: UInt64 = 0
  public var http01Answered: UInt64 = 0

  public init() {}

  /// The failure labels, fixed so every series exists from the first scrape.
  public static let failureLabels = ["unreachable", "rejected", "challenge", "protocol", "local"]

  /// /health's word for it: `valid` (a certificate in service, last order fine),
  /// `renewal_failing` (in service, but the last order failed), `no_certificate`.
  public var state: String {
    if !serving { return "no_certificate" }
    return consecutiveFailures > 0 ? "renewal_failing" : "valid"
  }
}
