// 32-byte Curve25519 public key as a plain value: four UInt64 words hold the
// raw bytes in wire order, so a key lives inline in tables and frames without
// heap storage or ARC.

/// A DERP public key (node key or server key).
public struct DERPKey: Hashable, Sendable, CustomStringConvertible {
  // Raw bytes 0..<8, 8..<16, … in memory order (not a numeric interpretation).
  public var w0: UInt64
  public var w1: UInt64
  public var w2: UInt64
  public var w3: UInt64

  /// Equality whose time does not depend on where the keys differ (secrets such as the mesh key).
  public func constantTimeEquals(_ other: DERPKey) -> Bool {
    ((w0 ^ other.w0) | (w1 ^ other.w1) | (w2 ^ other.w2) | (w3 ^ other.w3)) == 0
  }

  public static let zero = DERPKey(w0: 0, w1: 0, w2: 0, w3: 0)

  public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
    self.w0 = w0
    self.w1 = w1
    self.w2 = w2
    self.w3 = w3
  }

  /// Reads 32 raw bytes from `bytes` (no alignment needed).
  @inlinable
  public init(bytes: UnsafeRawPointer) {
    w0 = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
    w1 = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
    w2 = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
    w3 = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
  }

  /// Builds a key from exactly 32 bytes; nil for any other length.
  public init?(_ bytes: some Collection<UInt8>) {
    guard bytes.count == DERPConstants.keyBytes else { return nil }
    let array = Array(bytes)
    self = array.withUnsafeBytes { DERPKey(bytes: $0.baseAddress!) }
  }

  /// Writes the 32 raw bytes to `pointer` (no alignment needed).
  @inlinable
  public func store(to pointer: UnsafeMutableRawPointer) {
    pointer.storeBytes(of: w0, toByteOffset: 0, as: UInt64.self)
    pointer.storeBytes(of: w1, toByteOffset: 8, as: UInt64.self)
    pointer.storeBytes(of: w2, toByteOffset: 16, as: UInt64.self)
    pointer.storeBytes(of: w3, toByteOffset: 24, as: UInt64.self)
  }

  /// The 32 raw bytes (allocates; for control plane and tests).
  public var bytes: [UInt8] {
    [UInt8](unsafeUninitializedCapacity: DERPConstants.keyBytes) { buf, count in
      store(to: buf.baseAddress!)
      count = DERPConstants.keyBytes
    }
  }

  public var isZero: Bool { (w0 | w1 | w2 | w3) == 0 }

  /// Calls `body` with the key's bytes in a stack buffer (for C APIs).
  @inlinable
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    var copy = self
    return try Swift.withUnsafeBytes(of: &copy) { try body($0) }
  }

  /// Cheap 64-bit mix of the key for open-addressing tables. Keys are
  /// uniformly random Curve25519 points, so folding the words is enough.
  @inlinable
  public var tableHash: UInt64 {
    (w0 ^ w1.rotateLeft(17) ^ w2.rotateLeft(31) ^ w3.rotateLeft(47)) &* 0x9E37_79B9_7F4A_7C15
  }

  /// 64 lowercase hex characters.
  public var hex: String { withUnsafeBytes { Hex.encode($0) } }

  /// Parses 64 hex characters (either case).
  public init?(hex: some StringProtocol) {
    var key = DERPKey.zero
    let ok = Swift.withUnsafeMutableBytes(of: &key) { Hex.decode(hex, into: $0) }
    guard ok else { return nil }
    self = key
  }

  /// `nodekey:<64 hex>`, the text form Tailscale uses for public keys.
  public var nodeKeyText: String { "nodekey:" + hex }

  /// Parses `nodekey:<64 hex>`.
  public init?(nodeKeyText text: some StringProtocol) {
    guard text.hasPrefix("nodekey:") else { return nil }
    self.init(hex: text.dropFirst("nodekey:".count))
  }

  public var description: String { nodeKeyText }

  /// Short form for logs: first 8 hex characters, like Tailscale's ShortString.
  public var shortText: String { "[" + String(hex.prefix(8)) + "]" }
}

extension UInt64 {
  // @inlinable, not just @usableFromInline: the relay's peer-table lookup
  // hashes every forwarded packet's destination with it, and an opaque call
  // per rotation cost ~57 instructions per packet (issue 15).
  @inlinable @inline(__always)
  func rotateLeft(_ n: UInt64) -> UInt64 { (self << n) | (self >> (64 - n)) }
}
