// What the ACME checks ask the network stack: who listens on a TCP port
// (/proc/net/tcp{,6} and the owners' descriptor tables), what a name resolves
// to, and which addresses this host has. Answers only; the checks judge.
@preconcurrency import Glibc

/// A socket listening on a TCP port, and the process holding it when visible.
public struct PortListener: Sendable, Equatable {
  /// nil when no visible process holds the socket (another user's, doctor not root).
  public var pid: Int32?
  /// The executable's file name ("hyper-derp", "nginx"); nil when unknown.
  public var command: String?

  public init(pid: Int32?, command: String?) {
    self.pid = pid
    self.command = command
  }
}

/// What resolving a host name gave.
public enum HostResolution: Sendable, Equatable {
  case addresses([String])
  /// The name does not exist (NXDOMAIN, no address records).
  case unknownName(String)
  /// No answer could be had (no DNS server reachable, a timeout): nothing known.
  case unavailable(String)
}

enum NetworkProbes {
  /// TCP state LISTEN in /proc/net/tcp.
  static let listenState = "0A"

  /// Listening sockets on `port` (IPv4 and IPv6), one entry per process.
  static func tcpListeners(port: Int) -> [PortListener] {
    var inodes = Set<String>()
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
      inodes.formUnion(listeningInodes(readText(table) ?? "", port: port))
    }
    guard !inodes.isEmpty else { return [] }
    var listeners: [PortListener] = []
    var found = Set<String>()
    for entry in directoryEntries("/proc") where entry.allSatisfy(\.isNumber) {
      let fdDirectory = "/proc/\(entry)/fd"
      var holds = false
      for fd in directoryEntries(fdDirectory) {
        guard let target = readLink("\(fdDirectory)/\(fd)"), target.hasPrefix("socket:[") else { continue }
        let inode = String(target.dropFirst("socket:[".count).dropLast())
        if inodes.contains(inode) {
          found.insert(inode)
          holds = true
        }
      }
      if holds, let pid = Int32(entry) {
        listeners.append(PortListener(pid: pid, command: commandName(pid: pid)))
      }
      if found.count == inodes.count { break }
    }
    if found.count < inodes.count { listeners.append(PortListener(pid: nil, command: nil)) }
    return listeners
  }

  /// Inodes of LISTEN sockets on `port` in one /proc/net/tcp{,6} table.
  static func listeningInodes(_ table: String, port: Int) -> Set<String> {
    var inodes = Set<String>()
    for line in table.split(separator: "\n").dropFirst() {
      let fields = line.split(separator: " ")
      guard fields.count > 9, fields[3] == listenState,
        let colon = fields[1].lastIndex(of: ":"), Int(fields[1][fields[1].index(after: colon)...], radix: 16) == port
      else { continue }
      inodes.insert(String(fields[9]))
    }
    return inodes
  }

  /// The executable's file name, else /proc/PID/comm.
  static func commandName(pid: Int32) -> String? {
    if let exe = readLink("/proc/\(pid)/exe") {
      let name = exe.split(separator: "/").last.map(String.init) ?? exe
      return name.hasSuffix(" (deleted)") ? String(name.dropLast(" (deleted)".count)) : name
    }
    return readText("/proc/\(pid)/comm").map { $0.trimmingWhitespace() }
  }

  static func resolve(host: String) -> HostResolution {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, nil, &hints, &list)
    guard status == 0 else {
      let reason = String(cString: gai_strerror(status))
      // -5 is EAI_NODATA (a name without address records), a GNU extension Glibc's module hides.
      return status == EAI_NONAME || status == -5 ? .unknownName(reason) : .unavailable(reason)
    }
    defer { freeaddrinfo(list) }
    var addresses: [String] = []
    var cursor = list
    while let entry = cursor {
      if let text = numericAddress(entry.pointee.ai_addr), !addresses.contains(text) { addresses.append(text) }
      cursor = entry.pointee.ai_next
    }
    return .addresses(addresses)
  }

  /// Every address of this host's interfaces (getifaddrs).
  static func localAddresses() -> [String]? {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0 else { return nil }
    defer { freeifaddrs(list) }
    var addresses: [String] = []
    var cursor = list
    while let entry = cursor {
      if let text = numericAddress(entry.pointee.ifa_addr), !addresses.contains(text) { addresses.append(text) }
      cursor = entry.pointee.ifa_next
    }
    return addresses
  }

  /// "2001:DB8::1" → "2001:db8::1": the form inet_ntop writes, to compare addresses as text.
  public static func canonicalAddress(_ text: String) -> String? {
    var storage = in6_addr()
    for family in [AF_INET, AF_INET6] where inet_pton(family, text, &storage) == 1 {
      var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
      guard inet_ntop(family, &storage, &buffer, socklen_t(buffer.count)) != nil else { return nil }
      return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return nil
  }

  private static func numericAddress(_ address: UnsafeMutablePointer<sockaddr>?) -> String? {
    guard let address else { return nil }
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    switch Int32(address.pointee.sa_family) {
    case AF_INET:
      return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
        var raw = $0.pointee.sin_addr
        return inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count)).map { String(cString: $0) }
      }
    case AF_INET6:
      return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
        var raw = $0.pointee.sin6_addr
        return inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)).map { String(cString: $0) }
      }
    default:
      return nil
    }
  }

  private static func readText(_ path: String) -> String? { FileSystemRoot.live.readText(path) }

  private static func directoryEntries(_ path: String) -> [String] { FileSystemRoot.live.list(path) }

  private static func readLink(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink(path, &buffer, buffer.count - 1)
    guard length > 0 else { return nil }
    return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
