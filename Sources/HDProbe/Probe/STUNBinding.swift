// The STUN check: a Binding Request as Tailscale's netcheck sends it
// (RFC 5389, SOFTWARE "tailnode", FINGERPRINT) to the node's STUN port, and
// the answer's XOR-MAPPED-ADDRESS compared with the address our socket has.
// Behind NAT the two differ, so a mismatch fails only when our own address is
// public (then the relay answered with something that is not us).
@preconcurrency import Glibc
import HDClient

enum STUNBinding {
  static let cookie: [UInt8] = [0x21, 0x12, 0xA4, 0x42]

  struct Answer {
    /// "ip:port" the server saw, and ours.
    let mapped: String
    let local: String
    let behindNAT: Bool
    let seconds: Double
  }

  static func request(transactionID: [UInt8]) -> [UInt8] {
    var message: [UInt8] = [0x00, 0x01] + u16(12 + 8) + cookie + transactionID
    message += u16(0x8022) + u16(8) + Array("tailnode".utf8)
    let crc = crc32(message) ^ 0x5354_554E
    return message + u16(0x8028) + u16(4) + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
  }

  static func probe(host: String, port: Int, timeoutSeconds: Double) -> Result<Answer, ProbeStepFailure> {
    let addresses: [TCPConnector.Address]
    do { addresses = try TCPConnector.resolve(host: host, port: UInt16(port)) } catch {
      return .failure(ProbeStepFailure(kind: .stun, detail: "\(error)"))
    }
    guard let address = addresses.first else { return .failure(ProbeStepFailure(kind: .stun, detail: "\(host) has no address")) }
    let fd = socket(address.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return .failure(ProbeStepFailure(kind: .stun, detail: "socket: \(String(cString: strerror(errno)))")) }
    defer { close(fd) }
    var storage = address.storage
    let connected = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, address.length) }
    }
    guard connected == 0 else { return .failure(ProbeStepFailure(kind: .stun, detail: "connect \(address): \(String(cString: strerror(errno)))")) }
    let local = localAddress(fd)
    let transactionID = (0..<12).map { _ in UInt8.random(in: 0...255) }
    let message = request(transactionID: transactionID)
    let started = MonotonicClock.seconds()
    let deadline = started + timeoutSeconds
    var sent = 0
    var refused = false
    // Up to three sends spread over the timeout (UDP may lose one).
    while MonotonicClock.seconds() < deadline {
      if sent < 3 {
        _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        sent += 1
      }
      let slice = min(deadline - MonotonicClock.seconds(), timeoutSeconds / 3)
      var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      guard poll(&entry, 1, Int32(max(1, slice * 1000))) > 0 else { continue }
      var buffer = [UInt8](repeating: 0, count: 1500)
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n < 0 {
        if errno == ECONNREFUSED { refused = true }
        continue
      }
      guard let mapped = mappedAddress(Array(buffer[0..<n]), transactionID: transactionID) else { continue }
      let seconds = MonotonicClock.seconds() - started
      if mapped == local { return .success(Answer(mapped: mapped, local: local, behindNAT: false, seconds: seconds)) }
      guard !isPublic(local) else {
        return .failure(ProbeStepFailure(kind: .stun, detail: "the answer carries \(mapped), but we are \(local) (a public address: no NAT in between)"))
      }
      return .success(Answer(mapped: mapped, local: local, behindNAT: true, seconds: seconds))
    }
    let why = refused ? "port unreachable (nothing listens there)" : "no answer"
    return .failure(ProbeStepFailure(kind: .stun, detail: "\(why) from \(address) within \(Int(timeoutSeconds)) s (\(sent) requests sent)"))
  }

  /// XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS) of a Binding Success Response
  /// for `transactionID`, as "ip:port" / "[ip]:port"; nil for anything else.
  static func mappedAddress(_ b: [UInt8], transactionID: [UInt8]) -> String? {
    guard b.count >= 20, b[0] == 0x01, b[1] == 0x01, Array(b[4..<8]) == cookie, Array(b[8..<20]) == transactionID else { return nil }
    let length = Int(b[2]) << 8 | Int(b[3])
    guard 20 + length <= b.count else { return nil }
    var offset = 20
    var plain: String?
    while offset + 4 <= 20 + length {
      let type = Int(b[offset]) << 8 | Int(b[offset + 1])
      let valueLength = Int(b[offset + 2]) << 8 | Int(b[offset + 3])
      let value = offset + 4
      guard value + valueLength <= b.count else { return nil }
      if (type == 0x0020 || type == 0x0001), valueLength >= 8 {
        let family = b[value + 1]
        let addressLength = family == 1 ? 4 : (family == 2 ? 16 : 0)
        guard addressLength > 0, valueLength >= 4 + addressLength else { return nil }
        let xor = type == 0x0020
        let mask = cookie + transactionID
        let port = (Int(b[value + 2]) << 8 | Int(b[value + 3])) ^ (xor ? 0x2112 : 0)
        let bytes = (0..<addressLength).map { b[value + 4 + $0] ^ (xor ? mask[$0] : 0) }
        let text = format(bytes, port: port)
        if xor { return text }
        plain = text
      }
      offset = value + ((valueLength + 3) & ~3)
    }
    return plain
  }

  static func format(_ bytes: [UInt8], port: Int) -> String {
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    let family = bytes.count == 4 ? AF_INET : AF_INET6
    _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
    let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // IPv4-mapped IPv6 reads as the IPv4 address, as the kernel reports it.
    if family == AF_INET6, host.hasPrefix("::ffff:"), !host.dropFirst(7).contains(":") { return "\(host.dropFirst(7)):\(port)" }
    return family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
  }

  static func localAddress(_ fd: Int32) -> String {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    let family = Int32(storage.ss_family)
    return withUnsafeBytes(of: &storage) { raw -> String in
      let port = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
      if family == AF_INET { return format(Array(raw[4..<8]), port: port) }
      return format(Array(raw[8..<24]), port: port)
    }
  }

  /// Not loopback, RFC 1918, CGNAT (100.64/10), link-local or IPv6 ULA/link-local.
  static func isPublic(_ hostPort: String) -> Bool {
    let host = hostPort.hasPrefix("[") ? String(hostPort.dropFirst().prefix { $0 != "]" }) : String(hostPort.prefix { $0 != ":" })
    var v4 = in_addr()
    if inet_pton(AF_INET, host, &v4) == 1 {
      let a = withUnsafeBytes(of: &v4) { Array($0) }
      return !(a[0] == 127 || a[0] == 10 || (a[0] == 172 && a[1] & 0xF0 == 16) || (a[0] == 192 && a[1] == 168)
        || (a[0] == 100 && a[1] & 0xC0 == 64) || (a[0] == 169 && a[1] == 254))
    }
    let lower = host.lowercased()
    return !(lower == "::1" || lower.hasPrefix("fc") || lower.hasPrefix("fd") || lower.hasPrefix("fe80"))
  }

  static func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
    }
    return ~crc
  }
}
