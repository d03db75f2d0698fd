// The serial number of the server's leaf certificate, so a client (tests,
// `hdctl`) can tell which certificate a relay served, e.g. before and after
// an ACME renewal.
internal import CTLS
internal import HDX509

extension TLSClientStream {
  /// Upper-case hex serial of the server's leaf certificate.
  public var peerCertificateSerialHex: String? {
    let chain = ctls_get_peer_cert_chain(ssl)
    guard ctls_x509_stack_count(chain) > 0, let leaf = ctls_x509_stack_value(chain, 0) else { return nil }
    return X509Serial.hex(leaf)
  }
}
