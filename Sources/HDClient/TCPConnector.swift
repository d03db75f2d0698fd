// Resolves host:port (IPv4, IPv6 literal or name) and connects with a timeout.
// Used by the blocking client and, with `blocking: false`, by the load generator.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

public enum TCPConnector {
  /// Connects to the first address of `host` that accepts. IPv6 literals may
  /// be written with or without brackets. Returns a connected socket with
  /// TCP_NODELAY set, in blocking mode.
  public static func connect(host: String, port: UInt16, timeoutSeconds: Double = 10)
    throws(DERPClientError) -> Int32
  {
    let addresses = try resolve(host: host, port: port)
    var lastError = DERPClientError.resolveFailed(host: host, reason: "no addresses")
    for address in addresses {
      do {
        return try connect(address: address, timeoutSeconds: timeoutSeconds)
      } catch {
        lastError = error
      }
    }
    throw lastError
  }

  /// True for an IPv4 or IPv6 address literal (no SNI is sent for those).
  public static func isIPLiteral(_ host: String) -> Bool {
    var bare = host
    if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, bare, &v4) == 1 || inet_pton(AF_INET6, bare, &v6) == 1
  }

  /// A resolved socket address, stored inline.
  public struct Address: Sendable, CustomStringConvertible {
    public var storage: sockaddr_storage
    public var length: socklen_t
    public var family: Int32 { Int32(storage.ss_family) }

    public var description: String {
      var copy = storage
      var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
      var serv = [CChar](repeating: 0, count: Int(NI_MAXSERV))
      let rc = withUnsafePointer(to: &copy) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          getnameinfo($0, length, &host, socklen_t(host.count), &serv, socklen_t(serv.count), NI_NUMERICHOST | NI_NUMERICSERV)
        }
      }
      guard rc == 0 else { return "?" }
      let h = String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let s = String(decoding: serv.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
      return family == AF_INET6 ? "[\(h)]:\(s)" : "\(h):\(s)"
    }
  }

  public static func resolve(host: String, port: UInt16) throws(DERPClientError) -> [Address] {
    var name = host
    if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_NUMERICSERV
    var result: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(name, String(port), &hints, &result)
    guard rc == 0, let first = result else {
      throw .resolveFailed(host: host, reason: String(cString: gai_strerror(rc)))
    }
    defer { freeaddrinfo(first) }
    var out: [Address] = []
    var cursor: UnsafeMutablePointer<addrinfo>? = first
    while let ai = cursor {
      var storage = sockaddr_storage()
      withUnsafeMutableBytes(of: &storage) { dst in
        dst.copyMemory(from: UnsafeRawBufferPointer(start: ai.pointee.ai_addr, count: Int(ai.pointee.ai_addrlen)))
      }
      out.append(Address(storage: storage, length: ai.pointee.ai_addrlen))
      cursor = ai.pointee.ai_next
    }
    return out
  }

  /// Connects one address; `blocking: false` leaves the socket non-blocking
  /// once connected (for io_uring users).
  public static func connect(address: Address, timeoutSeconds: Double, blocking: Bool = true)
    throws(DERPClientError) -> Int32
  {
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    guard fd >= 0 else { throw .io(operation: "socket", errno: errno) }
    var storage = address.storage
    let rc = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, address.length) }
    }
    if rc != 0 && errno != EINPROGRESS {
      let e = errno
      Glibc.close(fd)
      throw .connectFailed(address: address.description, errno: e)
    }
    if rc != 0 {
      var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
      let waited = poll(&pfd, 1, Int32(max(1, timeoutSeconds * 1000)))
      if waited == 0 {
        Glibc.close(fd)
        throw .connectTimedOut(address: address.description)
      }
      var soError: Int32 = 0
      var len = socklen_t(MemoryLayout<Int32>.size)
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
      if waited < 0 || soError != 0 {
        let e = waited < 0 ? errno : soError
        Glibc.close(fd)
        throw .connectFailed(address: address.description, errno: e)
      }
    }
    if blocking {
      let flags = fcntl(fd, F_GETFL)
      _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
    }
    SocketOptions.setNoDelay(fd)
    return fd
  }
}
