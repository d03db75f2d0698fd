// What operators need to know about a serving certificate: when it expires,
// whether it is self-signed and, if so, the pin the DERP map must carry.
// Read from the context the relay serves (start, SIGHUP reload) and from
// files (hdctl doctor), with the same code so both report the same values.
@preconcurrency import Glibc
internal import CTLS
import HDProtocol

public struct CertificateSummary: Sendable, Equatable {
  /// Validity, seconds since the epoch.
  public let notBefore: Int64
  public let notAfter: Int64
  /// Issuer is the subject and the signature verifies with its own key.
  public let selfSigned: Bool
  /// `sha256-raw:` pin of the leaf (meaningful for clients when self-signed).
  public let pin: CertificatePin

  public init(notBefore: Int64, notAfter: Int64, selfSigned: Bool, pin: CertificatePin) {
    self.notBefore = notBefore
    self.notAfter = notAfter
    self.selfSigned = selfSigned
    self.pin = pin
  }

  init?(_ cert: OpaquePointer) {
    guard let notBefore = Self.seconds(X509_get0_notBefore(cert)), let notAfter = Self.seconds(X509_get0_notAfter(cert)),
      let der = X509Fields.der(cert)
    else { return nil }
    self.notBefore = notBefore
    self.notAfter = notAfter
    selfSigned = X509_self_signed(cert, 1) == 1
    pin = CertificatePin(derCertificate: der)
    ERR_clear_error()
  }

  /// The leaf certificate an OpenSSL server context (SSL_CTX) serves.
  public init?(servedBy context: OpaquePointer) {
    guard let cert = SSL_CTX_get0_certificate(context) else { return nil }
    self.init(cert)
  }

  /// Whole days from `now` until expiry, rounded down; negative once expired.
  public func daysLeft(now: Int64) -> Int64 {
    let seconds = notAfter - now
    return seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
  }

  public func isExpired(now: Int64) -> Bool { now >= notAfter }

  private static func seconds(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
    guard let time else { return nil }
    var parts = tm()
    guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
    return Int64(timegm(&parts))
  }
}

/// A certificate file and its key, read the way the relay loads them.
public struct CertificateFileReport: Sendable, Equatable {
  /// The leaf (first certificate of the PEM chain).
  public let leaf: CertificateSummary
  /// nil when the key could not be read as a PEM private key.
  public let keyMatches: Bool?

  /// Reads `certificatePath` (PEM chain, leaf first) and, when given,
  /// `keyPath`. Throws when the certificate cannot be read; never prompts
  /// for a passphrase.
  public static func read(certificatePath: String, keyPath: String?) throws(TLSContextError) -> CertificateFileReport {
    defer { ERR_clear_error() }
    guard let certBIO = BIO_new_file(certificatePath, "r") else {
      throw TLSContextError(.certificateUnreadable, "\(certificatePath): cannot read (\(String(cString: strerror(errno))))")
    }
    defer { BIO_free(certBIO) }
    guard let cert = PEM_read_bio_X509(certBIO, nil, noPassphrase, nil) else {
      throw TLSContextError(.certificateUnreadable, "\(certificatePath): no PEM certificate")
    }
    defer { X509_free(cert) }
    guard let leaf = CertificateSummary(cert) else {
      throw TLSContextError(.certificateUnreadable, "\(certificatePath): unreadable validity dates")
    }
    guard let keyPath else { return CertificateFileReport(leaf: leaf, keyMatches: nil) }
    guard let keyBIO = BIO_new_file(keyPath, "r") else { return CertificateFileReport(leaf: leaf, keyMatches: nil) }
    defer { BIO_free(keyBIO) }
    guard let key = PEM_read_bio_PrivateKey(keyBIO, nil, noPassphrase, nil) else {
      return CertificateFileReport(leaf: leaf, keyMatches: nil)
    }
    defer { EVP_PKEY_free(key) }
    return CertificateFileReport(leaf: leaf, keyMatches: X509_check_private_key(cert, key) == 1)
  }

  /// Refuses any passphrase request instead of OpenSSL's terminal prompt.
  private static let noPassphrase: @convention(c) (
    UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
  ) -> Int32 = { _, _, _, _ in 0 }
}
