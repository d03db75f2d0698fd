// TLS settings for a DERP map node, derived from its CertName the way
// Tailscale's client does (derphttp tlsClient): `sha256-raw:<hex>` pins that
// exact certificate instead of a CA (tlsdial.SetConfigExpectedCertHash); any
// other non-empty CertName is the name the CA-verified certificate must carry
// while SNI stays the node's HostName; empty means CA verification against
// the dialled host.
import HDProtocol
import HDTLS

extension TLSClientOptions {
  /// - Parameters:
  ///   - certName: the node's CertName (nil or "" when the map has none).
  ///   - trustedCertificatesFile: CA bundle used when the CertName is not a pin.
  ///   - dialledHost: the node's HostName or address; checked against the
  ///     certificate when CA-verifying without a CertName.
  public static func forDERPNode(
    certName: String?, trustedCertificatesFile: String, dialledHost: String
  ) -> Result<TLSClientOptions, PinSyntaxError> {
    guard let certName, !certName.isEmpty else {
      return .success(TLSClientOptions(trustedCertificatesFile: trustedCertificatesFile, verifyPeerName: dialledHost))
    }
    guard certName.hasPrefix(CertificatePin.certNamePrefix) else {
      return .success(TLSClientOptions(trustedCertificatesFile: trustedCertificatesFile, verifyPeerName: certName))
    }
    return CertificatePin.parse(certName: certName).map { TLSClientOptions(pinnedCertificate: $0) }
  }
}
