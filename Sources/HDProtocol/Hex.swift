// Lowercase hex text for keys (`nodekey:`, `privkey:`, `Derp-Public-Key`).

enum Hex {
  static let digits: [UInt8] = Array("0123456789abcdef".utf8)

  /// Value of one ASCII hex digit, or nil.
  @inline(__always)
  static func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
    default: return nil
    }
  }

  static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
    String(unsafeUninitializedCapacity: bytes.count * 2) { out in
      for (i, b) in bytes.enumerated() {
        out[2 * i] = digits[Int(b >> 4)]
        out[2 * i + 1] = digits[Int(b & 0x0f)]
      }
      return bytes.count * 2
    }
  }

  /// Decodes exactly `out.count * 2` hex characters; false on any bad digit or length.
  static func decode<S: StringProtocol>(_ text: S, into out: UnsafeMutableRawBufferPointer) -> Bool {
    let utf8 = Array(text.utf8)
    guard utf8.count == out.count * 2 else { return false }
    for i in 0..<out.count {
      guard let hi = nibble(utf8[2 * i]), let lo = nibble(utf8[2 * i + 1]) else { return false }
      out[i] = hi << 4 | lo
    }
    return true
  }
}
