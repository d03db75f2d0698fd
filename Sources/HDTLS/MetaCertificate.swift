// derper's "meta certificate" (spec/derp-protocol.md §1.1): a self-signed
// ed25519 certificate appended after the real chain whose subject CN is
// `derpkey<64 hex of the server's DERP public key>` and whose serial number is
// the DERP protocol version. TLS 1.3 hides certificates from observers, so a
// client that sees it knows the server key up front and may use
// `Derp-Fast-Start`.
internal import CTLS
import HDProtocol

/// What a `derpkey` meta certificate announces.
public struct MetaCertificateInfo: Sendable, Equatable {
  public let serverKey: DERPKey
  public let protocolVersion: Int

  public init(serverKey: DERPKey, protocolVersion: Int) {
    self.serverKey = serverKey
    self.protocolVersion = protocolVersion
  }

  static let commonNamePrefix = "derpkey"

  /// Parses a certificate's CN and serial the way the Go client does
  /// (derphttp parseMetaCert): prefix `derpkey`, 64 hex, serial ≤ 255.
  init?(commonName: String, serial: Int64) {
    guard commonName.hasPrefix(Self.commonNamePrefix), serial >= 0, serial <= 255,
      let key = DERPKey(hex: commonName.dropFirst(Self.commonNamePrefix.count))
    else { return nil }
    self.init(serverKey: key, protocolVersion: Int(serial))
  }
}

enum MetaCertificate {
  /// Validity either side of now, as derper does (±30 days, regenerated at each start/reload).
  static let validitySeconds = 30 * 24 * 3600

  /// Builds the certificate; the caller owns the returned X509 (X509_free).
  static func make(serverKey: DERPKey, protocolVersion: Int) throws(TLSContextError) -> OpaquePointer {
    guard let keyContext = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else {
      throw TLSContextError(.metaCertificate, "meta certificate: ed25519 unavailable")
    }
    defer { EVP_PKEY_CTX_free(keyContext) }
    var signingKey: OpaquePointer?
    guard EVP_PKEY_keygen_init(keyContext) == 1, EVP_PKEY_keygen(keyContext, &signingKey) == 1, let signingKey else {
      throw TLSContextError(.metaCertificate, "meta certificate: " + OpenSSLErrorQueue.drainText(fallback: "keygen failed"))
    }
    defer { EVP_PKEY_free(signingKey) }
    guard let cert = X509_new() else {
      throw TLSContextError(.metaCertificate, "meta certificate: out of memory")
    }
    let commonName = MetaCertificateInfo.commonNamePrefix + serverKey.hex
    let built =
      X509_set_version(cert, 2) == 1  // X.509 v3
      && ASN1_INTEGER_set(X509_get_serialNumber(cert), protocolVersion) == 1
      && X509_gmtime_adj(X509_getm_notBefore(cert), -validitySeconds) != nil
      && X509_gmtime_adj(X509_getm_notAfter(cert), validitySeconds) != nil
      && X509_set_pubkey(cert, signingKey) == 1
      && setName(cert, commonName)
      && addBasicConstraints(cert)
      && X509_sign(cert, signingKey, nil) > 0  // ed25519 signs without a separate digest
    guard built else {
      X509_free(cert)
      throw TLSContextError(.metaCertificate, "meta certificate: " + OpenSSLErrorQueue.drainText(fallback: "build failed"))
    }
    return cert
  }

  private static func setName(_ cert: OpaquePointer, _ commonName: String) -> Bool {
    guard let name = X509_get_subject_name(cert) else { return false }
    // PrintableString as Go writes it. A concrete string type (not MBSTRING_*)
    // also skips OpenSSL's 64-character CN limit, which "derpkey"+64 hex exceeds.
    let added = commonName.withCString { cn in
      X509_NAME_add_entry_by_txt(
        name, "CN", V_ASN1_PRINTABLESTRING, UnsafeRawPointer(cn).assumingMemoryBound(to: UInt8.self), -1, -1, 0)
    }
    return added == 1 && X509_set_issuer_name(cert, name) == 1  // self-signed
  }

  /// macOS wants BasicConstraints when subject == issuer (the same reason derper sets it).
  private static func addBasicConstraints(_ cert: OpaquePointer) -> Bool {
    guard let ext = X509V3_EXT_conf_nid(nil, nil, NID_basic_constraints, "critical,CA:FALSE") else { return false }
    defer { X509_EXTENSION_free(ext) }
    return X509_add_ext(cert, ext, -1) == 1
  }
}
