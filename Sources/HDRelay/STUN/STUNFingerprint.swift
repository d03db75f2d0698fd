// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) for STUN FINGERPRINT.
// Table-driven; the table is built once, lookups allocate nothing.
enum STUNFingerprint {
  // A raw pointer rather than an Array so a lookup never retains anything;
  // written once during lazy static initialisation, read-only afterwards.
  nonisolated(unsafe) private static let table: UnsafePointer<UInt32> = {
    let t = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
    for n in 0..<256 {
      var c = UInt32(n)
      for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
      t[n] = c
    }
    return UnsafePointer(t)
  }()

  static func crc32(_ bytes: UnsafeRawPointer, count: Int) -> UInt32 {
    let t = table
    var crc: UInt32 = 0xFFFF_FFFF
    for i in 0..<count {
      let byte = bytes.load(fromByteOffset: i, as: UInt8.self)
      crc = t[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
    }
    return crc ^ 0xFFFF_FFFF
  }

  /// The FINGERPRINT value for the `count` message bytes before the attribute.
  static func value(_ bytes: UnsafeRawPointer, count: Int) -> UInt32 {
    crc32(bytes, count: count) ^ STUNWire.fingerprintXor
  }
}
