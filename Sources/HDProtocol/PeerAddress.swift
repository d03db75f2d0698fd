// The 16-byte IP + port that PeerPresent carries; IPv4 is written as an
// IPv4-mapped IPv6 address (::ffff:a.b.c.d), as derper does.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

public struct PeerAddress: Equatable, Sendable {
  /// IPv6 address bytes in network order, stored raw (like `DERPKey`).
  public var ipHigh: UInt64
  public var ipLow: UInt64
  public var port: UInt16

  public static let unspecified = PeerAddress(ipHigh: 0, ipLow: 0, port: 0)

  public init(ipHigh: UInt64, ipLow: UInt64, port: UInt16) {
    self.ipHigh = ipHigh
    self.ipLow = ipLow
    self.port = port
  }

  /// From the 16 raw IPv6 bytes at `ip16`.
  public init(ip16: UnsafeRawPointer, port: UInt16) {
    ipHigh = ip16.loadUnaligned(as: UInt64.self)
    ipLow = ip16.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
    self.port = port
  }

  /// IPv4 `a.b.c.d` as ::ffff:a.b.c.d.
  public init(ipv4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) {
    var bytes: (UInt64, UInt64) = (0, 0)
    withUnsafeMutableBytes(of: &bytes) { p in
      p[10] = 0xff
      p[11] = 0xff
      p[12] = a
      p[13] = b
      p[14] = c
      p[15] = d
    }
    self.init(ipHigh: bytes.0, ipLow: bytes.1, port: port)
  }

  /// From a kernel socket address (AF_INET or AF_INET6); nil for other families.
  public init?(sockaddr storage: UnsafeRawPointer) {
    let family = storage.load(as: sa_family_t.self)
    if family == sa_family_t(AF_INET) {
      let sin = storage.loadUnaligned(as: sockaddr_in.self)
      var addr = sin.sin_addr.s_addr  // network order in memory
      let b = withUnsafeBytes(of: &addr) { Array($0) }
      self.init(ipv4: b[0], b[1], b[2], b[3], port: UInt16(bigEndian: sin.sin_port))
    } else if family == sa_family_t(AF_INET6) {
      var sin6 = storage.loadUnaligned(as: sockaddr_in6.self)
      let port = UInt16(bigEndian: sin6.sin6_port)
      self = withUnsafeBytes(of: &sin6.sin6_addr) { PeerAddress(ip16: $0.baseAddress!, port: port) }
    } else {
      return nil
    }
  }

  /// Writes 16 IP bytes then the big-endian port (18 bytes).
  @inlinable
  public func store(to pointer: UnsafeMutableRawPointer) {
    pointer.storeBytes(of: ipHigh, as: UInt64.self)
    pointer.storeBytes(of: ipLow, toByteOffset: 8, as: UInt64.self)
    pointer.storeBytes(of: port.bigEndian, toByteOffset: 16, as: UInt16.self)
  }
}
