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
  ///   - trust: the CAs used when the CertName is not a pin.
  ///   - dialledHost: the node's HostName or address; checked against the
  ///     certificate when CA-verifying without a CertName.
  public static func forDERPNode(
    certName: String?, trust: TLSTrust, dialledHost: String
  ) -> Result<TLSClientOptions, PinSyntaxError> {
    if let certName, certName.hasPrefix(CertificatePin.certNamePrefix) {
      return CertificatePin.parse(certName: certName).map { TLSClientOptions(pinnedCertificate: $0) }
    }
    var options = TLSClientOptions(verifyPeerName: certName.flatMap { $0.isEmpty ? nil : $0 } ?? dialledHost)
    trust.apply(to: &options)
    return .success(options)
  }
}
