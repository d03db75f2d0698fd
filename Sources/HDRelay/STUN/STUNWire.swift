// RFC 5389 constants the binding responder needs. Layout of a message:
//   0      2      4            8                     20
//   | type | length | magic cookie | transaction id (12) | attributes…
// `length` counts the attribute bytes after the 20-byte header; every
// attribute is type(2) + length(2) + value padded to a multiple of 4.
enum STUNWire {
  static let headerBytes = 20
  static let magicCookie: UInt32 = 0x2112_A442
  static let transactionIDOffset = 8
  static let transactionIDBytes = 12

  /// Method Binding (0x001) in class Request (0b00).
  static let bindingRequest: UInt16 = 0x0001
  /// Method Binding in class Success Response (0b10).
  static let bindingSuccess: UInt16 = 0x0101

  static let attributeHeaderBytes = 4
  static let xorMappedAddress: UInt16 = 0x0020
  static let software: UInt16 = 0x8022
  static let fingerprint: UInt16 = 0x8028
  /// Types below this must be understood by the receiver (RFC 5389 §15).
  static let comprehensionOptionalMin: UInt16 = 0x8000

  /// FINGERPRINT = CRC-32 (IEEE) of the message before it, XOR "STUN".
  static let fingerprintXor: UInt32 = 0x5354_554E
  static let fingerprintAttributeBytes = 8

  static let familyIPv4: UInt8 = 0x01
  static let familyIPv6: UInt8 = 0x02

  /// What our answers carry in SOFTWARE (RFC 5389 §15.10: servers SHOULD send it).
  /// A StaticString so writing it per answer touches no reference count.
  static let softwareValue: StaticString = "hyper-derp"

  /// Request datagrams larger than this are dropped unread: a binding request
  /// has no reason to be big (Tailscale's is 48 bytes).
  static let requestBytesMax = 1024
  /// The largest answer we build: IPv6 XOR-MAPPED-ADDRESS + SOFTWARE + FINGERPRINT.
  static let responseBytesMax = headerBytes + 24 + 4 + 12 + fingerprintAttributeBytes

  static func padded(_ length: Int) -> Int { (length + 3) & ~3 }
}

/// Big-endian reads and writes on raw packet memory (no alignment assumed).
extension UnsafeRawPointer {
  @inline(__always) func stunU16(at offset: Int) -> UInt16 {
    UInt16(load(fromByteOffset: offset, as: UInt8.self)) << 8 | UInt16(load(fromByteOffset: offset + 1, as: UInt8.self))
  }

  @inline(__always) func stunU32(at offset: Int) -> UInt32 {
    UInt32(stunU16(at: offset)) << 16 | UInt32(stunU16(at: offset + 2))
  }
}

extension UnsafeMutableRawPointer {
  @inline(__always) func stunStoreU16(_ value: UInt16, at offset: Int) {
    storeBytes(of: UInt8(truncatingIfNeeded: value >> 8), toByteOffset: offset, as: UInt8.self)
    storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: offset + 1, as: UInt8.self)
  }

  @inline(__always) func stunStoreU32(_ value: UInt32, at offset: Int) {
    stunStoreU16(UInt16(truncatingIfNeeded: value >> 16), at: offset)
    stunStoreU16(UInt16(truncatingIfNeeded: value), at: offset + 2)
  }
}
