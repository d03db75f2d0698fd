// Record keys of an established TLS session in the shape kernel TLS takes
// (struct tls12_crypto_info_aes_gcm_{128,256}): key, 4-byte salt, 8-byte IV
// and the next record sequence number, for each direction.

/// AES-GCM variants the kernel can run (the only ones Linux kTLS offloads
/// among the suites we serve; ChaCha20 connections stay in userspace).
public enum TLSRecordCipher: Sendable, Equatable {
  case aes128GCM
  case aes256GCM

  public var keyBytes: Int { self == .aes128GCM ? 16 : 32 }
}

/// One direction's record protection state.
public struct TrafficKey: Sendable, Equatable {
  public var key: [UInt8]
  /// TLS 1.3: the 12-byte write IV. TLS 1.2: the 4-byte implicit salt.
  public var fixedIV: [UInt8]
  /// Sequence number of the next record in this direction.
  public var nextSequence: UInt64

  public init(key: [UInt8], fixedIV: [UInt8], nextSequence: UInt64) {
    self.key = key
    self.fixedIV = fixedIV
    self.nextSequence = nextSequence
  }

  /// The kernel's 4-byte salt: the implicit nonce part.
  var kernelSalt: [UInt8] { Array(fixedIV.prefix(4)) }

  /// The kernel's 8-byte iv field. TLS 1.3: the rest of the write IV.
  /// TLS 1.2: the first explicit nonce; OpenSSL uses the sequence number, so do we.
  func kernelIV(version: TLSVersion) -> [UInt8] {
    version == .tls13 ? Array(fixedIV.suffix(8)) : nextSequence.bigEndianBytes
  }
}

/// Both directions, seen from the side that derived them.
public struct SessionTrafficKeys: Sendable, Equatable {
  public var version: TLSVersion
  public var cipher: TLSRecordCipher
  /// Records this side sends.
  public var transmit: TrafficKey
  /// Records this side receives.
  public var receive: TrafficKey

  package init(version: TLSVersion, cipher: TLSRecordCipher, transmit: TrafficKey, receive: TrafficKey) {
    self.version = version
    self.cipher = cipher
    self.transmit = transmit
    self.receive = receive
  }
}

extension UInt64 {
  var bigEndianBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: self >> (56 - 8 * UInt64($0))) } }
}
