// What operators need to know about a serving certificate: when it expires,
// whether it is self-signed and, if so, the pin the DERP map must carry.
// Read from the context the relay serves (start, SIGHUP reload) and from
// files (hdctl doctor), with the same code so both report the same values.
@preconcurrency import Glibc
internal import CTLS
import HDProtocol
internal import HDX509

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
    guard let validity = X509Validity(cert), let der = X509Fields.der(cert) else { return nil }
    notBefore = validity.notBeforeSeconds
    notAfter = validity.notAfterSeconds
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
    let chain: X509Chain
    do {
      chain = try X509Chain(path: certificatePath)
    } catch {
      throw TLSContextError(.certificateUnreadable, "\(certificatePath): cannot read (\(error.reason))")
    }
    guard let summary = chain.withLeaf({ CertificateSummary($0) }) else {
      throw TLSContextError(.certificateUnreadable, "\(certificatePath): no PEM certificate")
    }
    guard let leaf = summary else {
      throw TLSContextError(.certificateUnreadable, "\(certificatePath): unreadable validity dates")
    }
    guard let keyPath, let key = PEMPrivateKey(path: keyPath) else {
      return CertificateFileReport(leaf: leaf, keyMatches: nil)
    }
    return CertificateFileReport(leaf: leaf, keyMatches: chain.leafMatches(key))
  }
}
