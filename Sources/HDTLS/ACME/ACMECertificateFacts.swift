// What the ACME cache and renewal need to know about a PEM chain: does it
// parse, does its leaf belong to our key, name every identifier, and when is
// it valid. A cache file failing any of these is never served.
@preconcurrency import Glibc
internal import CTLS
internal import HDX509

public struct ACMECertificateFacts: Sendable, Equatable {
  /// Leaf validity, seconds since the epoch.
  public let notBeforeSeconds: Int64
  public let notAfterSeconds: Int64
  /// Leaf serial, upper-case hex.
  public let serialHex: String
  /// Certificates in the chain (leaf included).
  public let chainLength: Int

  /// Why a chain is unusable.
  public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
    case noCertificate
    case keyMismatch
    case missingIdentifier(String)
    case unreadableValidity

    public var description: String {
      switch self {
      case .noCertificate: return "no PEM certificate in it"
      case .keyMismatch: return "the certificate does not belong to the private key"
      case .missingIdentifier(let name): return "the certificate does not name \(name)"
      case .unreadableValidity: return "the certificate's validity cannot be read"
      }
    }
  }

  /// Checks `chainPEM` against `key` and `identifiers`.
  public static func inspect(
    chainPEM: [UInt8], key: ACMEKey, identifiers: [ACMEIdentifier]
  ) -> Result<ACMECertificateFacts, Problem> {
    defer { ERR_clear_error() }
    let chain = X509Chain(pem: chainPEM)
    guard chain.count > 0 else { return .failure(.noCertificate) }
    guard withExtendedLifetime(key, { chain.leafMatches(key: key.handle) }) else { return .failure(.keyMismatch) }
    let unnamed = chain.withLeaf { leaf in
      identifiers.first { identifier in
        let named =
          identifier.isIP
          ? ctls_acme_certificate_names_ip(leaf, identifier.value) : ctls_acme_certificate_names_host(leaf, identifier.value)
        return named != 1
      }
    }
    if let missing = unnamed ?? nil { return .failure(.missingIdentifier(missing.value)) }
    guard let validity = chain.leafValidity else { return .failure(.unreadableValidity) }
    return .success(
      ACMECertificateFacts(
        notBeforeSeconds: validity.notBeforeSeconds, notAfterSeconds: validity.notAfterSeconds,
        serialHex: chain.leafSerialHex ?? "?", chainLength: chain.count))
  }
}
