// A private key read from PEM (any type OpenSSL knows), for matching against
// a certificate and for the ACME key's own parsing.
@preconcurrency import Glibc
internal import CTLS

public final class PEMPrivateKey: @unchecked Sendable {
  /// `EVP_PKEY *`, freed with this object; up-ref it to keep it longer.
  public let handle: OpaquePointer

  /// nil when `pem` holds no unencrypted private key.
  public init?(pem: [UInt8]) {
    let key = pem.withUnsafeBytes { raw -> OpaquePointer? in
      guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
      defer { BIO_free(bio) }
      return Self.read(bio)
    }
    guard let key else { return nil }
    handle = key
  }

  /// nil when the file cannot be read or holds no unencrypted private key.
  public init?(path: String) {
    guard let bio = BIO_new_file(path, "r") else { return nil }
    defer { BIO_free(bio) }
    guard let key = Self.read(bio) else { return nil }
    handle = key
  }

  deinit { EVP_PKEY_free(handle) }

  /// The handle with a reference of its own, for an owner that outlives this object.
  public func retainedHandle() -> OpaquePointer? {
    withExtendedLifetime(self) { EVP_PKEY_up_ref(handle) == 1 ? handle : nil }
  }

  private static func read(_ bio: OpaquePointer) -> OpaquePointer? {
    defer { ERR_clear_error() }
    return PEM_read_bio_PrivateKey(bio, nil, X509Chain.noPassphrase, nil)
  }
}
