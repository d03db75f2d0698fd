// The TLS-ALPN-01 answers (RFC 8737) the relay's TLS port gives while an
// order is pending: SNI name → self-signed certificate carrying the key
// authorization digest. The ACME thread adds and removes entries; workers
// read them in the handshake (OpenSSL client-hello callback, C side, under a
// mutex), and only for handshakes that offer `acme-tls/1`.
internal import CTLS

public final class ACMEChallengeCertificates: @unchecked Sendable {
  let table: OpaquePointer
  /// One key for every challenge certificate: validators check the extension, not the key.
  private let key: ACMEKey

  public init() throws(ACMECryptoError) {
    guard let table = ctls_acme_challenges_new() else { throw ACMECryptoError("challenge table: out of memory") }
    self.table = table
    do {
      key = try ACMEKey.generate()
    } catch {
      ctls_acme_challenges_free(table)
      throw error
    }
  }

  deinit { ctls_acme_challenges_free(table) }

  /// Answers handshakes for `identifier` (a DNS name, or an IP literal whose
  /// SNI is its reverse-DNS name, RFC 8738 §6) with a certificate holding
  /// SHA-256(`keyAuthorization`).
  public func add(identifier: ACMEIdentifier, keyAuthorization: String) throws(ACMECryptoError) {
    let digest = ACMECrypto.sha256(Array(keyAuthorization.utf8))
    let altName = identifier.isIP ? "IP:" + identifier.value : "DNS:" + identifier.value
    guard let cert = ctls_acme_alpn_challenge_certificate(key.handle, altName, digest) else {
      throw ACMECryptoError("challenge certificate for \(identifier.value): "
        + OpenSSLErrorQueue.drainText(fallback: "failed"))
    }
    defer { X509_free(cert) }
    guard ctls_acme_challenges_put(table, identifier.serverName, cert, key.handle) == 1 else {
      throw ACMECryptoError("challenge table: out of memory")
    }
  }

  public func remove(identifier: ACMEIdentifier) {
    ctls_acme_challenges_remove(table, identifier.serverName)
  }

  /// Handshakes answered with a challenge certificate.
  public var answeredCount: UInt64 { ctls_acme_challenges_answered(table) }
  /// `acme-tls/1` handshakes for a name with nothing pending (refused).
  public var refusedCount: UInt64 { ctls_acme_challenges_refused(table) }

  /// Makes `ctx` answer from this table.
  func install(on ctx: OpaquePointer) { ctls_acme_install(ctx, table) }
}
