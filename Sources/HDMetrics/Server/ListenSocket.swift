// Non-blocking listening sockets for the metrics server: one per configured
// bind address, or one dual-stack socket on `::` when none is configured.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

struct ListenSocket {
  let fd: Int32
  /// The address as configured (for log lines and errors).
  let address: String
  /// The port actually bound (differs from the configured one when that is 0).
  let port: Int

  /// Queue of connections the kernel completes before we accept them.
  static let backlog: Int32 = 64

  /// Binds every address in `addresses`, or all addresses when it is empty.
  /// Either all sockets are opened or none (the ones already open are closed).
  /// Port 0 picks one free port for the first address and reuses it for the
  /// others, so every address serves on the same port (as the relay does).
  static func openAll(addresses: [String], port: Int) throws(MetricsServerError) -> [ListenSocket] {
    var sockets: [ListenSocket] = []
    do {
      if addresses.isEmpty {
        sockets.append(try openAnyAddress(port: port))
      } else {
        for address in addresses {
          sockets.append(try open(address: address, port: sockets.first?.port ?? port))
        }
      }
    } catch {
      for socket in sockets { close(socket.fd) }
      throw error
    }
    return sockets
  }

  /// `::` with IPV6_V6ONLY off accepts IPv4 too; hosts without IPv6 get `0.0.0.0`.
  private static func openAnyAddress(port: Int) throws(MetricsServerError) -> ListenSocket {
    do {
      return try open(address: "::", port: port)
    } catch {
      return try open(address: "0.0.0.0", port: port)
    }
  }

  static func open(address: String, port: Int) throws(MetricsServerError) -> ListenSocket {
    var storage = sockaddr_storage()
    let length: socklen_t
    let family: Int32
    if let v4 = ipv4Address(address, port: port) {
      withUnsafeMutableBytes(of: &storage) { raw in raw.storeBytes(of: v4, as: sockaddr_in.self) }
      length = socklen_t(MemoryLayout<sockaddr_in>.size)
      family = AF_INET
    } else if let v6 = ipv6Address(address, port: port) {
      withUnsafeMutableBytes(of: &storage) { raw in raw.storeBytes(of: v6, as: sockaddr_in6.self) }
      length = socklen_t(MemoryLayout<sockaddr_in6>.size)
      family = AF_INET6
    } else {
      throw MetricsServerError("metrics.bind: '\(address)' is not an IP address literal")
    }
    let fd = socket(
      family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw .system("metrics socket(\(address))", errno: errno) }
    var one: Int32 = 1
    var zero: Int32 = 0
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    if family == AF_INET6 && address == "::" {
      setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size))
    }
    let bound = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else {
      let code = errno
      close(fd)
      throw .system("metrics bind \(formatEndpoint(address, port))", errno: code)
    }
    guard listen(fd, backlog) == 0 else {
      let code = errno
      close(fd)
      throw .system("metrics listen \(formatEndpoint(address, port))", errno: code)
    }
    return ListenSocket(fd: fd, address: address, port: boundPort(fd) ?? port)
  }

  private static func boundPort(_ fd: Int32) -> Int? {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard rc == 0 else { return nil }
    return withUnsafeBytes(of: &storage) { raw -> Int? in
      switch Int32(raw.load(as: sockaddr.self).sa_family) {
      case AF_INET: return Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
      case AF_INET6: return Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
      default: return nil
      }
    }
  }

  private static func ipv4Address(_ text: String, port: Int) -> sockaddr_in? {
    var address = sockaddr_in()
    guard inet_pton(AF_INET, text, &address.sin_addr) == 1 else { return nil }
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    return address
  }

  private static func ipv6Address(_ text: String, port: Int) -> sockaddr_in6? {
    var address = sockaddr_in6()
    guard inet_pton(AF_INET6, text, &address.sin6_addr) == 1 else { return nil }
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_port = UInt16(port).bigEndian
    return address
  }
}

/// `1.2.3.4:80` or `[::1]:80`.
func formatEndpoint(_ address: String, _ port: Int) -> String {
  address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
}
