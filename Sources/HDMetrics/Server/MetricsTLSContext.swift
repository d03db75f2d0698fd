// The metrics server's own HTTPS context (metrics.tls_cert / metrics.tls_key),
// independent of the DERP port's TLS. Userspace OpenSSL on the metrics thread.
import CTLS
import HDTLS
import Synchronization

/// An OpenSSL server context loaded from a PEM certificate chain and key.
/// SSL_CTX is safe to share once configured; only the metrics thread uses it.
public final class MetricsTLSContext: @unchecked Sendable {
  let context: OpaquePointer
  /// The certificate served (for the expiry metric and /health).
  private(set) var leaf: CertificateSummary?

  public init(certificatePath: String, keyPath: String) throws(MetricsServerError) {
    guard let context = SSL_CTX_new(TLS_server_method()) else {
      throw MetricsServerError("metrics TLS: SSL_CTX_new failed: \(openSSLErrorText())")
    }
    self.context = context
    // TLS 1.2 is the oldest version Prometheus and curl still negotiate by default.
    SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
    // Non-blocking writes are retried with the same bytes, which may sit at a
    // new address after the array is reallocated: allow that, and partial writes.
    SSL_CTX_ctrl(
      context, SSL_CTRL_MODE, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), nil)
    // Client-initiated TLS 1.2 renegotiation costs us CPU and buys nothing.
    SSL_CTX_set_options(context, sslOptionNoRenegotiation)
    guard SSL_CTX_use_certificate_chain_file(context, certificatePath) == 1 else {
      throw MetricsServerError("metrics.tls_cert '\(certificatePath)': \(openSSLErrorText())")
    }
    guard SSL_CTX_use_PrivateKey_file(context, keyPath, SSL_FILETYPE_PEM) == 1 else {
      throw MetricsServerError("metrics.tls_key '\(keyPath)': \(openSSLErrorText())")
    }
    guard SSL_CTX_check_private_key(context) == 1 else {
      throw MetricsServerError(
        "metrics.tls_key '\(keyPath)' does not match metrics.tls_cert '\(certificatePath)': \(openSSLErrorText())")
    }
    leaf = CertificateSummary(servedBy: context)
  }

  deinit {
    SSL_CTX_free(context)
  }
}

/// The metrics server's current TLS context (nil = plain HTTP), shared by the
/// server (reload, /metrics) and its loop (new connections). Connections keep
/// the context they started with: SSL_new holds its own reference.
final class MetricsTLSSlot: Sendable {
  private let context: Mutex<MetricsTLSContext?>

  init(_ initial: MetricsTLSContext?) { context = Mutex(initial) }

  var current: MetricsTLSContext? { context.withLock { $0 } }

  func replace(with fresh: MetricsTLSContext) { context.withLock { $0 = fresh } }
}

/// SSL_OP_NO_RENEGOTIATION is `SSL_OP_BIT(30)`, a macro Swift cannot import.
private let sslOptionNoRenegotiation: UInt64 = 1 << 30

/// Drains OpenSSL's per-thread error queue into one line.
func openSSLErrorText() -> String {
  var messages: [String] = []
  while true {
    let code = ERR_get_error()
    if code == 0 { break }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    messages.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
  }
  return messages.isEmpty ? "unknown OpenSSL error" : messages.joined(separator: "; ")
}
