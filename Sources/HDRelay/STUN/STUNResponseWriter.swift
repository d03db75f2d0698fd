// Builds a Binding Success Response: XOR-MAPPED-ADDRESS (the source address
// the request came from), SOFTWARE and FINGERPRINT. Tailscale's netcheck
// reads XOR-MAPPED-ADDRESS (0x0020) and skips attributes it does not know.

/// The request's source, as seen by the kernel.
struct STUNSource {
  /// STUNWire.familyIPv4 or .familyIPv6 (IPv4-mapped IPv6 is reported as IPv4).
  var family: UInt8
  /// Host byte order.
  var port: UInt16
  /// 4 or 16 address bytes, network order.
  var address: UnsafeRawPointer
}

enum STUNResponseWriter {
  /// Writes the answer to `request` (a validated Binding Request) into `out`
  /// (at least STUNWire.responseBytesMax bytes); returns its length.
  static func write(to out: UnsafeMutableRawPointer, request: UnsafeRawPointer, source: STUNSource) -> Int {
    let addressBytes = source.family == STUNWire.familyIPv4 ? 4 : 16
    var offset = STUNWire.headerBytes

    // XOR-MAPPED-ADDRESS (RFC 5389 §15.2): port XOR the cookie's top half,
    // address XOR cookie ‖ transaction id.
    out.stunStoreU16(STUNWire.xorMappedAddress, at: offset)
    out.stunStoreU16(UInt16(4 + addressBytes), at: offset + 2)
    out.storeBytes(of: 0, toByteOffset: offset + 4, as: UInt8.self)
    out.storeBytes(of: source.family, toByteOffset: offset + 5, as: UInt8.self)
    out.stunStoreU16(source.port ^ UInt16(STUNWire.magicCookie >> 16), at: offset + 6)
    for i in 0..<addressBytes {
      let mask =
        i < 4
        ? UInt8(truncatingIfNeeded: STUNWire.magicCookie >> (24 - 8 * UInt32(i)))
        : request.load(fromByteOffset: STUNWire.transactionIDOffset + i - 4, as: UInt8.self)
      out.storeBytes(
        of: source.address.load(fromByteOffset: i, as: UInt8.self) ^ mask, toByteOffset: offset + 8 + i, as: UInt8.self)
    }
    offset += 8 + addressBytes

    // SOFTWARE, zero-padded to a multiple of 4.
    let software = STUNWire.softwareValue
    out.stunStoreU16(STUNWire.software, at: offset)
    out.stunStoreU16(UInt16(software.utf8CodeUnitCount), at: offset + 2)
    out.advanced(by: offset + 4).copyMemory(from: software.utf8Start, byteCount: software.utf8CodeUnitCount)
    let softwareEnd = offset + 4 + STUNWire.padded(software.utf8CodeUnitCount)
    for pad in (offset + 4 + software.utf8CodeUnitCount)..<softwareEnd { out.storeBytes(of: 0, toByteOffset: pad, as: UInt8.self) }
    offset = softwareEnd

    // Header last: FINGERPRINT's CRC covers it with the final length.
    let total = offset + STUNWire.fingerprintAttributeBytes
    out.stunStoreU16(STUNWire.bindingSuccess, at: 0)
    out.stunStoreU16(UInt16(total - STUNWire.headerBytes), at: 2)
    out.stunStoreU32(STUNWire.magicCookie, at: 4)
    out.advanced(by: STUNWire.transactionIDOffset).copyMemory(
      from: request.advanced(by: STUNWire.transactionIDOffset), byteCount: STUNWire.transactionIDBytes)

    out.stunStoreU16(STUNWire.fingerprint, at: offset)
    out.stunStoreU16(4, at: offset + 2)
    out.stunStoreU32(STUNFingerprint.value(UnsafeRawPointer(out), count: offset), at: offset + 4)
    return total
  }
}
