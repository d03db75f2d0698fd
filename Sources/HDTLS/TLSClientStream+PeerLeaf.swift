// The server's leaf certificate as a summary (validity, pin), for probes that
// report days to expiry of what a relay actually serves. derper's `derpkey…`
// meta certificate rides in the same chain and is skipped.
internal import CTLS

extension TLSClientStream {
  public var peerLeafCertificate: CertificateSummary? {
    let chain = ctls_get_peer_cert_chain(ssl)
    for index in 0..<ctls_x509_stack_count(chain) {
      guard let cert = ctls_x509_stack_value(chain, index) else { continue }
      if X509Fields.commonName(cert)?.hasPrefix(MetaCertificateInfo.commonNamePrefix) == true { continue }
      return CertificateSummary(cert)
    }
    return nil
  }
}
