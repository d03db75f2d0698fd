// The two TLS versions the DERP port speaks (derper's MinVersion is TLS 1.2).
internal import CTLS

/// A negotiated or requested TLS protocol version.
public enum TLSVersion: String, Sendable, CaseIterable {
  case tls12 = "TLSv1.2"
  case tls13 = "TLSv1.3"

  /// OpenSSL's protocol number (TLS1_2_VERSION / TLS1_3_VERSION).
  var openSSLNumber: Int32 {
    switch self {
    case .tls12: return TLS1_2_VERSION
    case .tls13: return TLS1_3_VERSION
    }
  }

  init?(openSSLNumber: Int32) {
    switch openSSLNumber {
    case TLS1_2_VERSION: self = .tls12
    case TLS1_3_VERSION: self = .tls13
    default: return nil
    }
  }
}
