// A P-256 private key for ACME: the account key that signs every JWS (ES256)
// and the certificate key the relay serves. OpenSSL generates, stores (PKCS#8
// PEM) and signs; nothing here encodes ASN.1 by hand.
@preconcurrency import Glibc
internal import CTLS
internal import HDX509

public final class ACMEKey: @unchecked Sendable {
  let handle: OpaquePointer

  private init(handle: OpaquePointer) { self.handle = handle }

  deinit { EVP_PKEY_free(handle) }

  /// A fresh key.
  public static func generate() throws(ACMECryptoError) -> ACMEKey {
    guard let key = ctls_acme_ec_p256_generate() else {
      throw ACMECryptoError("P-256 key generation: " + OpenSSLErrorQueue.drainText(fallback: "failed"))
    }
    return ACMEKey(handle: key)
  }

  /// A key read back from its PEM; nil when `pem` holds no usable P-256 key.
  public static func parse(pem: [UInt8]) -> ACMEKey? {
    guard let key = PEMPrivateKey(pem: pem)?.retainedHandle() else { return nil }
    let wrapped = ACMEKey(handle: key)
    var x = [UInt8](repeating: 0, count: 32)
    var y = [UInt8](repeating: 0, count: 32)
    // Only P-256 keys have 32-byte coordinates and can sign ES256.
    guard EVP_PKEY_get_base_id(key) == EVP_PKEY_EC, ctls_acme_ec_public_xy(key, &x, &y) == 1 else { return nil }
    return wrapped
  }

  /// PKCS#8 PEM of the private key.
  public func pem() throws(ACMECryptoError) -> [UInt8] {
    var length = 0
    guard let text = ctls_acme_private_key_pem(handle, &length) else {
      throw ACMECryptoError("private key PEM: " + OpenSSLErrorQueue.drainText(fallback: "failed"))
    }
    defer { free(text) }
    return Array(UnsafeRawBufferPointer(start: text, count: length))
  }

  /// The public point (x, y), 32 bytes each, for the JWK.
  public func publicCoordinates() throws(ACMECryptoError) -> (x: [UInt8], y: [UInt8]) {
    var x = [UInt8](repeating: 0, count: 32)
    var y = [UInt8](repeating: 0, count: 32)
    guard ctls_acme_ec_public_xy(handle, &x, &y) == 1 else {
      throw ACMECryptoError("public key: " + OpenSSLErrorQueue.drainText(fallback: "not a P-256 key"))
    }
    return (x, y)
  }

  /// ES256 over `message`: r || s, 64 bytes (RFC 7518 §3.4).
  public func signES256(_ message: [UInt8]) throws(ACMECryptoError) -> [UInt8] {
    var signature = [UInt8](repeating: 0, count: 64)
    let ok = message.withUnsafeBufferPointer { ctls_acme_es256_sign(handle, $0.baseAddress, $0.count, &signature) }
    guard ok == 1 else { throw ACMECryptoError("ES256: " + OpenSSLErrorQueue.drainText(fallback: "signing failed")) }
    return signature
  }
}

/// A cryptographic step of ACME failed (OpenSSL's reason included).
public struct ACMECryptoError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ description: String) { self.description = description }
}
