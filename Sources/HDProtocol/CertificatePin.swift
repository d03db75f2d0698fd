// The DERP map's certificate pin: `CertName: "sha256-raw:<hex>"` on a
// tailcfg.DERPNode names the SHA-256 of the relay's leaf certificate in DER.
// A client that sees the prefix checks the certificate against that hash
// instead of a CA (Tailscale's tlsdial.SetConfigExpectedCertHash), which is how
// a relay reached by IP address with a self-signed certificate is trusted.
import CSodium

public struct CertificatePin: Hashable, Sendable, CustomStringConvertible {
  public static let certNamePrefix = "sha256-raw:"
  static let digestBytes = 32

  /// SHA-256 of the DER certificate, 32 bytes.
  public let sha256: [UInt8]

  /// The pin of a certificate given as its DER encoding.
  public init(derCertificate der: [UInt8]) {
    Sodium.ensureReady()
    var digest = [UInt8](repeating: 0, count: Self.digestBytes)
    _ = crypto_hash_sha256(&digest, der, UInt64(der.count))
    sha256 = digest
  }

  /// Parses `sha256-raw:<64 lowercase hex>`. Tailscale compares the hex as
  /// text against `%02x` of the hash, so uppercase never matches there and is
  /// refused here too (a probe must not pass a pin real clients reject).
  public static func parse(certName text: String) -> Result<CertificatePin, PinSyntaxError> {
    guard text.hasPrefix(certNamePrefix) else { return .failure(.missingPrefix(text)) }
    let hex = text.dropFirst(certNamePrefix.count)
    guard hex.utf8.count == 2 * digestBytes,
      hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
    else { return .failure(.badDigest(text)) }
    var digest = [UInt8](repeating: 0, count: digestBytes)
    _ = digest.withUnsafeMutableBytes { Hex.decode(hex, into: $0) }
    return .success(CertificatePin(digest: digest))
  }

  public init?(certName text: String) {
    guard case .success(let pin) = Self.parse(certName: text) else { return nil }
    self = pin
  }

  private init(digest: [UInt8]) { sha256 = digest }

  /// `sha256-raw:<64 lowercase hex>`, the value for the DERP map's CertName.
  public var certName: String { Self.certNamePrefix + sha256.withUnsafeBytes { Hex.encode($0) } }

  public var description: String { certName }
}

public enum PinSyntaxError: Error, Equatable, CustomStringConvertible {
  case missingPrefix(String)
  case badDigest(String)

  public var description: String {
    switch self {
    case .missingPrefix(let text):
      return "certificate pin \"\(text)\" does not start with \(CertificatePin.certNamePrefix)"
    case .badDigest(let text):
      return "certificate pin \"\(text)\" needs 64 lowercase hex digits after \(CertificatePin.certNamePrefix)"
        + " (the SHA-256 of the DER certificate, as `hdctl cert self-signed` prints it)"
    }
  }
}
