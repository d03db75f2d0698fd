// Digests, HMAC (External Account Binding, RFC 8555 §7.3.4) and the CSR an
// ACME finalize sends, all on OpenSSL.
@preconcurrency import Glibc
internal import CTLS

public enum ACMECrypto {
  public static func sha256(_ data: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    let ok = data.withUnsafeBufferPointer { ctls_acme_sha256($0.baseAddress, $0.count, &out) }
    precondition(ok == 1, "SHA-256 cannot fail on valid input")
    return out
  }

  public static func hmacSHA256(key: [UInt8], _ data: [UInt8]) throws(ACMECryptoError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    let ok = key.withUnsafeBufferPointer { k in
      data.withUnsafeBufferPointer { d in ctls_acme_hmac_sha256(k.baseAddress, k.count, d.baseAddress, d.count, &out) }
    }
    guard ok == 1 else { throw ACMECryptoError("HMAC-SHA256: " + OpenSSLErrorQueue.drainText(fallback: "failed")) }
    return out
  }

  /// A DER CSR for `dnsNames` and `ipAddresses` signed by `key` (the first DNS
  /// name, if short enough, also as CN for old tools that read only the CN).
  public static func certificateRequest(
    key: ACMEKey, dnsNames: [String], ipAddresses: [String]
  ) throws(ACMECryptoError) -> [UInt8] {
    let altNames = subjectAltNames(dnsNames: dnsNames, ipAddresses: ipAddresses)
    let commonName = dnsNames.first.flatMap { $0.utf8.count <= 64 ? $0 : nil }
    var length = 0
    let der: UnsafeMutablePointer<UInt8>? =
      if let commonName {
        ctls_acme_csr_der(key.handle, commonName, altNames, &length)
      } else {
        ctls_acme_csr_der(key.handle, nil, altNames, &length)
      }
    guard let der else { throw ACMECryptoError("CSR: " + OpenSSLErrorQueue.drainText(fallback: "failed")) }
    defer { free(der) }
    return Array(UnsafeBufferPointer(start: der, count: length))
  }

  /// OpenSSL's subjectAltName configuration form ("DNS:a,IP:b"); names are
  /// validated by the config schema, so they hold no commas.
  static func subjectAltNames(dnsNames: [String], ipAddresses: [String]) -> String {
    (dnsNames.map { "DNS:" + $0 } + ipAddresses.map { "IP:" + $0 }).joined(separator: ",")
  }
}
