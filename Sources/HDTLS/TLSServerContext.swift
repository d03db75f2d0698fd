// The DERP port's OpenSSL server context: certificate chain + key from PEM,
// derper's meta certificate appended, and the settings kernel TLS depends on.
// Built whole or not at all, so a SIGHUP reload can validate a new pair and
// keep serving with the old context when it fails. Sessions hold their own
// reference (SSL_new up-refs the SSL_CTX), so replacing the context never
// disturbs existing connections.
@preconcurrency import Glibc
internal import CTLS
import HDProtocol
internal import HDX509

/// An immutable OpenSSL server context. SSL_CTX is safe to share between
/// threads once configured: workers only call SSL_new on it.
public final class TLSServerContext: @unchecked Sendable {
  let handle: OpaquePointer
  /// Empty when the context has no certificate yet (ACME before its first issuance).
  public let certificatePath: String
  public let keyPath: String
  /// The leaf certificate served (expiry, self-signed, pin); nil when the
  /// context has none yet (ACME pending) or OpenSSL could not read its dates back.
  public let leaf: CertificateSummary?
  /// The TLS-ALPN-01 answers, when ACME runs; kept alive as long as the context.
  public let challenges: ACMEChallengeCertificates?

  /// TLS 1.3 suites, AES-GCM first so kernel TLS can take the connection;
  /// ChaCha20 stays for clients without AES (it runs in userspace).
  static let tls13CipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
  /// TLS 1.2: forward-secret AEAD only, AES-GCM first for the same reason.
  static let tls12CipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

  /// Loads and validates `certificatePath` (PEM chain, leaf first) and
  /// `keyPath` (PEM private key), and appends the `derpkey` meta certificate
  /// for `serverKey`.
  ///
  /// With `challenges`, handshakes offering the `acme-tls/1` ALPN are answered
  /// from that table (RFC 8737) and every other handshake is untouched.
  public init(
    certificatePath: String, keyPath: String, serverKey: DERPKey, challenges: ACMEChallengeCertificates? = nil
  ) throws(TLSContextError) {
    try Self.checkReadable(certificatePath, kind: .certificateUnreadable, what: "tls_cert")
    try Self.checkReadable(keyPath, kind: .keyUnreadable, what: "tls_key")
    let ctx = try Self.newContext()
    do {
      try Self.configure(ctx)
      try Self.loadPair(ctx, certificatePath: certificatePath, keyPath: keyPath, serverKey: serverKey)
    } catch {
      SSL_CTX_free(ctx)
      throw error
    }
    challenges?.install(on: ctx)
    self.handle = ctx
    self.leaf = SSL_CTX_get0_certificate(ctx).flatMap { CertificateSummary($0) }
    self.certificatePath = certificatePath
    self.keyPath = keyPath
    self.challenges = challenges
  }

  /// A context with no certificate that only answers TLS-ALPN-01 challenges:
  /// what the DERP port runs while ACME has not issued a first certificate
  /// (every other handshake fails for want of a certificate).
  public init(challengesOnly challenges: ACMEChallengeCertificates) throws(TLSContextError) {
    let ctx = try Self.newContext()
    do {
      try Self.configure(ctx)
    } catch {
      SSL_CTX_free(ctx)
      throw error
    }
    challenges.install(on: ctx)
    self.handle = ctx
    self.leaf = nil
    self.certificatePath = ""
    self.keyPath = ""
    self.challenges = challenges
  }

  /// True when the context serves a certificate of its own.
  public var hasCertificate: Bool { !certificatePath.isEmpty }

  private static func newContext() throws(TLSContextError) -> OpaquePointer {
    ERR_clear_error()
    guard let ctx = SSL_CTX_new(TLS_server_method()) else {
      throw TLSContextError(.openSSL, "SSL_CTX_new: " + OpenSSLErrorQueue.drainText(fallback: "failed"))
    }
    return ctx
  }

  deinit { SSL_CTX_free(handle) }

  private static func checkReadable(_ path: String, kind: TLSContextError.Kind, what: String) throws(TLSContextError) {
    guard access(path, R_OK) == 0 else {
      let reason = String(cString: strerror(errno))
      throw TLSContextError(kind, "\(what) \(path): cannot read (\(reason))")
    }
  }

  private static func configure(_ ctx: OpaquePointer) throws(TLSContextError) {
    guard ctls_ctx_set_min_proto_version(ctx, TLS1_2_VERSION) == 1,
      SSL_CTX_set_ciphersuites(ctx, tls13CipherSuites) == 1,
      SSL_CTX_set_cipher_list(ctx, tls12CipherList) == 1
    else {
      throw TLSContextError(.openSSL, "TLS settings: " + OpenSSLErrorQueue.drainText(fallback: "rejected"))
    }
    _ = ctls_ctx_set_server_options(ctx)
    _ = ctls_ctx_set_session_cache_off(ctx)
    // No NewSessionTicket after a TLS 1.3 handshake: the server's first
    // application record is then sequence 0, which kernel TX must start at.
    _ = SSL_CTX_set_num_tickets(ctx, 0)
    // One SSL_read consumes one record; unread ciphertext stays in the BIO,
    // which a clean switch to kernel receive needs.
    ctls_ctx_set_read_ahead(ctx, 0)
    SSL_CTX_set_keylog_callback(ctx, sessionKeylogCallback)
  }

  private static func loadPair(
    _ ctx: OpaquePointer, certificatePath: String, keyPath: String, serverKey: DERPKey
  ) throws(TLSContextError) {
    guard SSL_CTX_use_certificate_chain_file(ctx, certificatePath) == 1 else {
      throw TLSContextError(
        .certificateUnreadable,
        "tls_cert \(certificatePath): not a PEM certificate chain ("
          + OpenSSLErrorQueue.drainText(fallback: "no certificate") + ")")
    }
    guard SSL_CTX_use_PrivateKey_file(ctx, keyPath, SSL_FILETYPE_PEM) == 1 else {
      // OpenSSL also refuses a well-formed key that belongs to another certificate.
      if isParsablePrivateKey(keyPath) {
        ERR_clear_error()
        throw TLSContextError(
          .keyDoesNotMatchCertificate, "tls_key \(keyPath) does not match tls_cert \(certificatePath)")
      }
      throw TLSContextError(
        .keyUnreadable,
        "tls_key \(keyPath): not a PEM private key (" + OpenSSLErrorQueue.drainText(fallback: "no key") + ")")
    }
    guard ctls_ctx_cert_key_match(ctx) == 1 else {
      throw TLSContextError(
        .keyDoesNotMatchCertificate,
        "tls_key \(keyPath) does not match tls_cert \(certificatePath) ("
          + OpenSSLErrorQueue.drainText(fallback: "mismatch") + ")")
    }
    let meta = try MetaCertificate.make(serverKey: serverKey, protocolVersion: DERPConstants.protocolVersion)
    defer { X509_free(meta) }
    guard ctls_ctx_add1_chain_cert(ctx, meta) == 1 else {
      throw TLSContextError(.metaCertificate, "meta certificate: " + OpenSSLErrorQueue.drainText(fallback: "not added"))
    }
  }

  /// Through the shared reader, which never prompts for a passphrase.
  private static func isParsablePrivateKey(_ path: String) -> Bool { PEMPrivateKey(path: path) != nil }
}
