// Listening and accepted-socket setup (control path: start-up and once per accept).
@preconcurrency import Glibc
import CURing
import HDProtocol

/// A parsed bind address.
struct BindAddress: Sendable {
  var family: Int32
  /// 4 or 16 bytes.
  var bytes: [UInt8]
  var text: String

  /// Parses an IPv4 or IPv6 literal; nil if it is neither.
  init?(_ literal: String) {
    var v4 = in_addr()
    var v6 = in6_addr()
    if inet_pton(AF_INET, literal, &v4) == 1 {
      family = AF_INET
      bytes = withUnsafeBytes(of: &v4) { Array($0) }
    } else if inet_pton(AF_INET6, literal, &v6) == 1 {
      family = AF_INET6
      bytes = withUnsafeBytes(of: &v6) { Array($0) }
    } else {
      return nil
    }
    text = literal
  }

  /// Empty `bind` = every address: the IPv6 wildcard with IPV6_V6ONLY off
  /// serves IPv4 too; where IPv6 is disabled, the IPv4 wildcard.
  static func wildcards() -> [BindAddress] {
    [BindAddress("::")!, BindAddress("0.0.0.0")!]
  }
}

enum Sockets {
  /// A non-blocking SO_REUSEPORT listener on `address:port`. `dualStack`
  /// only matters for the IPv6 wildcard. Returns the fd and the bound port.
  static func listen(on address: BindAddress, port: Int, dualStack: Bool) throws(RelayError) -> (Int32, Int) {
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw RelayError.system("socket for \(address.text)", errno: errno) }
    _ = hd_set_int_sockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
    _ = hd_set_int_sockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1)
    if address.family == AF_INET6 {
      _ = hd_set_int_sockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, dualStack ? 0 : 1)
    }
    var storage = sockaddr_storage()
    let length = fill(&storage, address: address, port: port)
    let rc = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard rc == 0 else {
      let e = errno
      close(fd)
      throw RelayError.system("bind \(address.text) port \(port)", errno: e)
    }
    guard Glibc.listen(fd, 4096) == 0 else {
      let e = errno
      close(fd)
      throw RelayError.system("listen on \(address.text) port \(port)", errno: e)
    }
    return (fd, localPort(fd))
  }

  /// Fails if another socket already holds `address:port`. SO_REUSEPORT would
  /// silently share the port with another relay process (the kernel then
  /// splits connections between them), so a bind without it is tried first.
  static func ensurePortFree(_ address: BindAddress, port: Int, dualStack: Bool) throws(RelayError) {
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw RelayError.system("socket for \(address.text)", errno: errno) }
    defer { close(fd) }
    _ = hd_set_int_sockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
    if address.family == AF_INET6 {
      _ = hd_set_int_sockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, dualStack ? 0 : 1)
    }
    var storage = sockaddr_storage()
    let length = fill(&storage, address: address, port: port)
    let rc = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    if rc != 0 {
      let e = errno
      if e == EADDRINUSE {
        throw RelayError("\(address.text) port \(port) is already in use (another relay or program listens there)")
      }
      throw RelayError.system("bind \(address.text) port \(port)", errno: e)
    }
  }

  static func fill(_ storage: inout sockaddr_storage, address: BindAddress, port: Int) -> socklen_t {
    withUnsafeMutablePointer(to: &storage) { p in
      let raw = UnsafeMutableRawPointer(p)
      if address.family == AF_INET {
        let sin = raw.assumingMemoryBound(to: sockaddr_in.self)
        sin.pointee.sin_family = sa_family_t(AF_INET)
        sin.pointee.sin_port = in_port_t(UInt16(port).bigEndian)
        address.bytes.withUnsafeBytes { src in withUnsafeMutableBytes(of: &sin.pointee.sin_addr) { $0.copyMemory(from: src) } }
        return socklen_t(MemoryLayout<sockaddr_in>.size)
      }
      let sin6 = raw.assumingMemoryBound(to: sockaddr_in6.self)
      sin6.pointee.sin6_family = sa_family_t(AF_INET6)
      sin6.pointee.sin6_port = in_port_t(UInt16(port).bigEndian)
      address.bytes.withUnsafeBytes { src in withUnsafeMutableBytes(of: &sin6.pointee.sin6_addr) { $0.copyMemory(from: src) } }
      return socklen_t(MemoryLayout<sockaddr_in6>.size)
    }
  }

  static func localPort(_ fd: Int32) -> Int {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return port(of: &storage)
  }

  static func port(of storage: inout sockaddr_storage) -> Int {
    withUnsafeBytes(of: &storage) { raw in
      let family = Int32(raw.load(as: sa_family_t.self))
      let offset = family == AF_INET ? 2 : 2  // sin_port and sin6_port are both at offset 2
      return Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
  }

  /// Per accepted socket: TCP_NODELAY (frames are already coalesced per send)
  /// and `sockbuf` for both directions. Returns false if the kernel refused sockbuf.
  static func configureAccepted(_ fd: Int32, sockbufBytes: Int) {
    _ = hd_set_int_sockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    if sockbufBytes > 0 {
      _ = hd_set_int_sockopt(fd, SOL_SOCKET, SO_SNDBUF, Int32(clamping: sockbufBytes))
      _ = hd_set_int_sockopt(fd, SOL_SOCKET, SO_RCVBUF, Int32(clamping: sockbufBytes))
    }
  }

  /// The remote address for PeerPresent (IPv4 as IPv4-mapped IPv6).
  static func peerAddress(_ fd: Int32) -> PeerAddress {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
    }
    guard rc == 0 else { return .unspecified }
    let port = UInt16(port(of: &storage))
    return withUnsafeBytes(of: &storage) { raw -> PeerAddress in
      if Int32(raw.load(as: sa_family_t.self)) == AF_INET {
        return PeerAddress(ipv4: raw[4], raw[5], raw[6], raw[7], port: port)
      }
      return PeerAddress(ip16: raw.baseAddress! + 8, port: port)
    }
  }

  /// The remote address as `ip:port` or `[ip]:port` (for /debug/peers).
  static func peerAddressText(_ fd: Int32) -> String {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
    }
    guard rc == 0 else { return "?" }
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    let family = Int32(storage.ss_family)
    let port = port(of: &storage)
    withUnsafeMutableBytes(of: &storage) { raw in
      let addr = family == AF_INET ? raw.baseAddress! + 4 : raw.baseAddress! + 8
      _ = inet_ntop(family, addr, &text, socklen_t(text.count))
    }
    let ip = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return family == AF_INET6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
  }
}
