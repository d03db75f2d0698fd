// Why a TLS connection failed, as a closed set: raw values are metric label
// values (`hyper_derp_tls_handshake_failures_total{reason="..."}`).
internal import CTLS

/// The reason a TLS session failed, classified for counters.
public enum TLSFailureReason: Int, Sendable, CaseIterable {
  /// The first bytes are not a TLS handshake record (plain HTTP, garbage).
  case notTLS
  /// The peer offered only protocol versions below TLS 1.2 (or none we speak).
  case unsupportedVersion
  /// No cipher suite or group in common.
  case noSharedCipher
  /// A record longer than TLS allows (2^14 plaintext + 256 expansion).
  case recordOverflow
  /// A record failed authentication (tampered, wrong keys, garbage).
  case badRecordMAC
  /// The peer sent a fatal alert.
  case peerAlert
  /// The peer closed the TCP connection before the handshake finished.
  case peerClosed
  /// The handshake did not finish before the relay's deadline.
  case timeout
  /// Any other violation of the TLS protocol (unexpected message, bad ClientHello, …).
  case protocolError
  /// An OpenSSL or allocation failure on our side.
  case internalError

  public var label: String {
    switch self {
    case .notTLS: return "not_tls"
    case .unsupportedVersion: return "unsupported_version"
    case .noSharedCipher: return "no_shared_cipher"
    case .recordOverflow: return "record_overflow"
    case .badRecordMAC: return "bad_record_mac"
    case .peerAlert: return "peer_alert"
    case .peerClosed: return "peer_closed"
    case .timeout: return "timeout"
    case .protocolError: return "protocol_error"
    case .internalError: return "internal_error"
    }
  }

  /// Maps an OpenSSL SSL_R_* reason (from ERR_GET_REASON) to a counter reason.
  static func fromOpenSSLReason(_ reason: Int32) -> TLSFailureReason {
    if reason >= SSL_AD_REASON_OFFSET { return .peerAlert }  // SSL_R_*_ALERT_*: an alert we received
    switch reason {
    case SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_WRONG_VERSION_NUMBER:
      return .notTLS
    case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_VERSION_TOO_LOW, SSL_R_NO_PROTOCOLS_AVAILABLE:
      return .unsupportedVersion
    case SSL_R_NO_SHARED_CIPHER, SSL_R_NO_SHARED_GROUPS, SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
      return .noSharedCipher
    case SSL_R_ENCRYPTED_LENGTH_TOO_LONG, SSL_R_PACKET_LENGTH_TOO_LONG, SSL_R_DATA_LENGTH_TOO_LONG,
      SSL_R_EXCESSIVE_MESSAGE_SIZE:
      return .recordOverflow
    case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC, SSL_R_DECRYPTION_FAILED:
      return .badRecordMAC
    case 0:
      return .internalError
    default:
      return .protocolError
    }
  }
}
