// Reads PEM certificates and keys with OpenSSL, for check-config's referenced
// file checks. Never prompts: an encrypted key is reported, not unlocked.

import CTLS
import Glibc

enum CertificateInspector {
  enum Outcome: Equatable {
    case ok
    case noCertificate
    case noPrivateKey
    case mismatch
    /// The leaf certificate's notAfter, seconds since the epoch.
    case notAfter(Int64)
  }

  /// Refuses any passphrase request instead of OpenSSL's default terminal prompt.
  private static let noPassphrase: @convention(c) (
    UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
  ) -> Int32 = { _, _, _, _ in 0 }

  private static func withBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) -> T) -> T? {
    bytes.withUnsafeBytes { raw -> T? in
      guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
      defer { BIO_free(bio) }
      return body(bio)
    }
  }

  /// The first certificate in a PEM chain; nil when there is none.
  static func leafNotAfter(_ pem: [UInt8]) -> Int64? {
    defer { ERR_clear_error() }
    return withBIO(pem) { bio -> Int64? in
      guard let cert = PEM_read_bio_X509(bio, nil, noPassphrase, nil) else { return nil }
      defer { X509_free(cert) }
      return notAfterSeconds(cert)
    } ?? nil
  }

  /// How many certificates a PEM bundle holds, when every CERTIFICATE (or
  /// TRUSTED CERTIFICATE) block in it parses; nil when one does not.
  static func bundleCertificateCount(_ pem: [UInt8]) -> Int? {
    defer { ERR_clear_error() }
    let markers: Set<Substring> = ["-----BEGIN CERTIFICATE-----", "-----BEGIN TRUSTED CERTIFICATE-----"]
    let blocks = String(decoding: pem, as: UTF8.self).split(whereSeparator: \.isNewline)
      .filter { markers.contains($0.drop { $0 == " " }) }.count
    let parsed = withBIO(pem) { bio -> Int in
      var count = 0
      while let cert = PEM_read_bio_X509_AUX(bio, nil, noPassphrase, nil) {
        X509_free(cert)
        count += 1
      }
      return count
    } ?? 0
    return parsed == blocks ? parsed : nil
  }

  static func isPrivateKey(_ pem: [UInt8]) -> Bool {
    defer { ERR_clear_error() }
    return withBIO(pem) { bio -> Bool in
      guard let key = PEM_read_bio_PrivateKey(bio, nil, noPassphrase, nil) else { return false }
      EVP_PKEY_free(key)
      return true
    } ?? false
  }

  /// True when the private key belongs to the chain's first certificate.
  static func keyMatches(certificatePEM: [UInt8], keyPEM: [UInt8]) -> Bool {
    defer { ERR_clear_error() }
    let matched = withBIO(certificatePEM) { certBIO -> Bool in
      guard let cert = PEM_read_bio_X509(certBIO, nil, noPassphrase, nil) else { return false }
      defer { X509_free(cert) }
      return withBIO(keyPEM) { keyBIO -> Bool in
        guard let key = PEM_read_bio_PrivateKey(keyBIO, nil, noPassphrase, nil) else { return false }
        defer { EVP_PKEY_free(key) }
        return X509_check_private_key(cert, key) == 1
      } ?? false
    }
    return matched ?? false
  }

  private static func notAfterSeconds(_ cert: OpaquePointer) -> Int64? {
    guard let time = X509_get0_notAfter(cert) else { return nil }
    var parts = tm()
    guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
    return Int64(timegm(&parts))
  }
}
