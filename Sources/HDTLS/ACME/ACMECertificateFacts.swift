// What the ACME cache and renewal need to know about a PEM chain: does it
// parse, does its leaf belong to our key, name every identifier, and when is
// it valid. A cache file failing any of these is never served.
@preconcurrency import Glibc
internal import CTLS

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
    let certificates = readChain(chainPEM)
    defer { certificates.forEach { X509_free($0) } }
    guard let leaf = certificates.first else { return .failure(.noCertificate) }
    guard X509_check_private_key(leaf, key.handle) == 1 else { return .failure(.keyMismatch) }
    for identifier in identifiers {
      let named =
        identifier.isIP
        ? ctls_acme_certificate_names_ip(leaf, identifier.value) : ctls_acme_certificate_names_host(leaf, identifier.value)
      guard named == 1 else { return .failure(.missingIdentifier(identifier.value)) }
    }
    var notBefore: Int64 = 0
    var notAfter: Int64 = 0
    guard ctls_acme_certificate_validity(leaf, &notBefore, &notAfter) == 1 else { return .failure(.unreadableValidity) }
    var serial = [CChar](repeating: 0, count: 128)
    let n = ctls_acme_certificate_serial_hex(leaf, &serial, Int32(serial.count))
    let hex = n > 0 ? String(decoding: serial.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    return .success(
      ACMECertificateFacts(
        notBeforeSeconds: notBefore, notAfterSeconds: notAfter, serialHex: hex, chainLength: certificates.count))
  }

  /// Every certificate in a PEM blob, in order (caller frees).
  private static func readChain(_ pem: [UInt8]) -> [OpaquePointer] {
    pem.withUnsafeBytes { raw -> [OpaquePointer] in
      guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return [] }
      defer { BIO_free(bio) }
      var out: [OpaquePointer] = []
      while let cert = PEM_read_bio_X509(bio, nil, nil, nil) { out.append(cert) }
      return out
    }
  }
}
