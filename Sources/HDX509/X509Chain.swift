// Certificates read with OpenSSL: the one reader behind check-config
// (HDConfig), the served-certificate summary and doctor (HDTLS) and the ACME
// cache (HDTLS), so all of them agree on what a PEM file holds, when it
// expires, its serial and whether a key belongs to it. Never prompts for a
// passphrase: an encrypted key is simply not readable.
@preconcurrency import Glibc
internal import CTLS

/// A PEM chain, leaf first. Owns its certificates: their handles are lent
/// only inside `withLeaf`, so none outlives the chain.
public final class X509Chain: @unchecked Sendable {
  /// `X509 *` handles, in file order; freed with the chain.
  private let certificates: [OpaquePointer]

  /// Every certificate in `pem` up to the first that does not parse; empty when none does.
  public init(pem: [UInt8]) {
    certificates = pem.withUnsafeBytes { raw -> [OpaquePointer] in
      guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return [] }
      defer { BIO_free(bio) }
      return Self.readAll(bio)
    }
  }

  /// The PEM file at `path`; throws the errno when it cannot be opened.
  public init(path: String) throws(X509FileError) {
    guard let bio = BIO_new_file(path, "r") else { throw X509FileError(errnoCode: errno) }
    defer { BIO_free(bio) }
    certificates = Self.readAll(bio)
  }

  deinit { certificates.forEach { X509_free($0) } }

  /// Certificates in the chain.
  public var count: Int { certificates.count }

  /// `body` with the leaf's `X509 *`, valid only during the call; nil when the chain is empty.
  public func withLeaf<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T? {
    guard let leaf = certificates.first else { return nil }
    return try withExtendedLifetime(self) { try body(leaf) }
  }

  public var leafValidity: X509Validity? { withLeaf { X509Validity($0) } ?? nil }

  public var leafSerialHex: String? { withLeaf { X509Serial.hex($0) } ?? nil }

  /// True when `key` (an `EVP_PKEY *` its owner keeps alive) is the leaf's private key.
  public func leafMatches(key: OpaquePointer) -> Bool {
    defer { ERR_clear_error() }
    return withLeaf { X509_check_private_key($0, key) == 1 } ?? false
  }

  public func leafMatches(_ key: PEMPrivateKey) -> Bool {
    withExtendedLifetime(key) { leafMatches(key: key.handle) }
  }

  /// CERTIFICATE and TRUSTED CERTIFICATE blocks, in order.
  private static func readAll(_ bio: OpaquePointer) -> [OpaquePointer] {
    defer { ERR_clear_error() }  // the end of the input leaves PEM_R_NO_START_LINE queued
    var out: [OpaquePointer] = []
    while let cert = PEM_read_bio_X509_AUX(bio, nil, noPassphrase, nil) { out.append(cert) }
    return out
  }

  /// Refuses any passphrase request instead of OpenSSL's terminal prompt.
  static let noPassphrase: @convention(c) (
    UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
  ) -> Int32 = { _, _, _, _ in 0 }
}

/// Why a PEM file could not be opened.
public struct X509FileError: Error, Sendable, Equatable {
  public let errnoCode: Int32
  public var reason: String { String(cString: strerror(errnoCode)) }
}

/// A certificate's validity, seconds since the epoch.
public struct X509Validity: Sendable, Equatable {
  public let notBeforeSeconds: Int64
  public let notAfterSeconds: Int64

  /// nil when a date cannot be read.
  public init?(_ cert: OpaquePointer) {
    guard let notBefore = Self.seconds(X509_get0_notBefore(cert)), let notAfter = Self.seconds(X509_get0_notAfter(cert))
    else { return nil }
    notBeforeSeconds = notBefore
    notAfterSeconds = notAfter
  }

  private static func seconds(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
    guard let time else { return nil }
    var parts = tm()
    guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
    return Int64(timegm(&parts))
  }
}

public enum X509Serial {
  /// Upper-case hex of the serial number ("04A1…"), as `openssl x509 -serial` prints it.
  public static func hex(_ cert: OpaquePointer) -> String? {
    var serial = [CChar](repeating: 0, count: 128)
    let length = ctls_x509_serial_hex(cert, &serial, Int32(serial.count))
    guard length > 0 else { return nil }
    return String(decoding: serial.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
