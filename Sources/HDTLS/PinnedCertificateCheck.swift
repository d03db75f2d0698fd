// Certificate pinning for the TLS client, the way Tailscale's client treats a
// DERP node whose CertName is `sha256-raw:<hex>` (tlsdial.SetConfigExpectedCertHash):
// no CA path is built; instead, skipping derper's `derpkey…` meta certificate,
// exactly one certificate must be presented, its DER SHA-256 must equal the
// pin, it must be valid for the dialled name (when there is one) and be inside
// its validity period. Runs inside OpenSSL's handshake (cert verify callback),
// so a wrong certificate aborts the handshake with an alert before any DERP byte.
@preconcurrency import Glibc
internal import CTLS
import HDProtocol

final class PinnedCertificateCheck {
  let pin: CertificatePin
  /// DNS name or IP literal the certificate must cover; nil = no name check
  /// (Tailscale skips it when dialling by IP: Go sends no SNI for an IP).
  let peerName: String?
  /// Why the last handshake's certificate was refused; nil when it was accepted.
  private(set) var rejection: String?

  init(pin: CertificatePin, peerName: String?) {
    self.pin = pin
    self.peerName = peerName
  }

  /// Installs the check on a client context. `self` must outlive the context.
  func install(on context: OpaquePointer) {
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
    SSL_CTX_set_cert_verify_callback(context, Self.verifyCallback, Unmanaged.passUnretained(self).toOpaque())
  }

  private static let verifyCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = {
    store, argument in
    guard let store, let argument else { return 0 }
    let check = Unmanaged<PinnedCertificateCheck>.fromOpaque(argument).takeUnretainedValue()
    check.rejection = check.reasonToReject(chain: X509_STORE_CTX_get0_untrusted(store))
    guard check.rejection == nil else {
      X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
      return 0
    }
    return 1
  }

  /// nil when the presented chain satisfies the pin; otherwise why not.
  func reasonToReject(chain: OpaquePointer?) -> String? {
    var pinned: OpaquePointer?
    for index in 0..<ctls_x509_stack_count(chain) {
      guard let cert = ctls_x509_stack_value(chain, index) else { continue }
      if X509Fields.commonName(cert)?.hasPrefix(MetaCertificateInfo.commonNamePrefix) == true { continue }
      guard pinned == nil else { return "more than one certificate presented; a pinned relay sends exactly one" }
      pinned = cert
    }
    guard let cert = pinned else { return "no certificate presented" }
    guard let der = X509Fields.der(cert) else { return "cannot encode the presented certificate" }
    let presented = CertificatePin(derCertificate: der)
    guard presented == pin else {
      return "certificate hash does not match the pin: presented \(presented.certName), expected \(pin.certName)"
    }
    if let name = peerName, !Self.covers(cert, name: name) {
      return "certificate is not valid for \(name)"
    }
    if let notAfter = X509_get0_notAfter(cert), X509_cmp_current_time(notAfter) < 0 {
      return "certificate expired"
    }
    if let notBefore = X509_get0_notBefore(cert), X509_cmp_current_time(notBefore) > 0 {
      return "certificate is not valid yet; is the clock correct?"
    }
    return nil
  }

  static func covers(_ cert: OpaquePointer, name: String) -> Bool {
    if SelfSignedCertificate.isIPLiteral(name) { return X509_check_ip_asc(cert, name, 0) == 1 }
    return X509_check_host(cert, name, name.utf8.count, 0, nil) == 1
  }
}
