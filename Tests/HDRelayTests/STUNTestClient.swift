// A UDP STUN client for tests, written from RFC 5389 and Tailscale's
// net/stun (Request/ParseResponse) independently of HDRelay's codec: it
// builds Tailscale's binding request (SOFTWARE "tailnode" + FINGERPRINT) and
// parses answers the way netcheck does.
import Foundation
import XCTest

/// CRC-32 (IEEE), bit by bit: deliberately not the server's table code.
func testCRC32(_ bytes: [UInt8]) -> UInt32 {
  var crc: UInt32 = 0xFFFF_FFFF
  for byte in bytes {
    crc ^= UInt32(byte)
    for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
  }
  return ~crc
}

enum STUNTestMessage {
  static let cookie: [UInt8] = [0x21, 0x12, 0xA4, 0x42]

  static func u16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
  static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

  static func fingerprint(_ before: [UInt8]) -> UInt32 { testCRC32(before) ^ 0x5354_554E }

  /// Tailscale's `stun.Request(txID)`, byte for byte.
  static func tailscaleRequest(_ txID: [UInt8]) -> [UInt8] {
    var b: [UInt8] = [0x00, 0x01] + u16(12 + 8) + cookie + txID
    b += u16(0x8022) + u16(8) + Array("tailnode".utf8)
    let fp = fingerprint(b)
    return b + u16(0x8028) + u16(4) + u32(fp)
  }

  static func randomTxID() -> [UInt8] { (0..<12).map { _ in UInt8.random(in: 0...255) } }

  struct Answer {
    var txID: [UInt8]
    var address: [UInt8]
    var port: UInt16
    var software: String?
    var fingerprintValid: Bool
    var attributeTypes: [UInt16]
  }

  /// Parses a Binding Success Response like Tailscale's `stun.ParseResponse`
  /// (XOR-MAPPED-ADDRESS) and checks FINGERPRINT when present.
  static func parseSuccess(_ b: [UInt8]) -> Answer? {
    guard b.count >= 20, b[0] == 0x01, b[1] == 0x01, Array(b[4..<8]) == cookie else { return nil }
    let length = Int(b[2]) << 8 | Int(b[3])
    guard 20 + length == b.count else { return nil }
    let txID = Array(b[8..<20])
    var answer = Answer(txID: txID, address: [], port: 0, software: nil, fingerprintValid: false, attributeTypes: [])
    var offset = 20
    while offset < b.count {
      guard b.count - offset >= 4 else { return nil }
      let type = UInt16(b[offset]) << 8 | UInt16(b[offset + 1])
      let valueLength = Int(b[offset + 2]) << 8 | Int(b[offset + 3])
      let value = offset + 4
      guard value + ((valueLength + 3) & ~3) <= b.count else { return nil }
      answer.attributeTypes.append(type)
      switch type {
      case 0x0020:
        let family = b[value + 1]
        let addressLength = family == 1 ? 4 : family == 2 ? 16 : 0
        guard addressLength > 0, valueLength == 4 + addressLength else { return nil }
        answer.port = (UInt16(b[value + 2]) << 8 | UInt16(b[value + 3])) ^ 0x2112
        let mask = cookie + txID
        answer.address = (0..<addressLength).map { b[value + 4 + $0] ^ mask[$0] }
      case 0x8022:
        answer.software = String(decoding: b[value..<(value + valueLength)], as: UTF8.self)
      case 0x8028:
        let got = UInt32(b[value]) << 24 | UInt32(b[value + 1]) << 16 | UInt32(b[value + 2]) << 8 | UInt32(b[value + 3])
        answer.fingerprintValid = valueLength == 4 && value + 4 == b.count && got == fingerprint(Array(b[..<offset]))
      default: break
      }
      offset = value + ((valueLength + 3) & ~3)
    }
    return answer
  }
}

/// A connected-less UDP socket on a loopback address with a receive timeout.
final class STUNTestSocket {
  let fd: Int32
  let family: Int32
  /// This socket's own address bytes (4 or 16) and port, as the server should see them.
  private(set) var localAddress: [UInt8] = []
  private(set) var localPort: UInt16 = 0

  init(loopback family: Int32) throws {
    self.family = family
    fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw DaemonProcessError("UDP socket: errno \(errno)") }
    var storage = Self.address(family: family, port: 0)
    let rc = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, Self.length(family)) }
    }
    guard rc == 0 else { throw DaemonProcessError("UDP bind: errno \(errno)") }
    var bound = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &bound) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    withUnsafeBytes(of: &bound) { raw in
      localPort = UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
      localAddress = family == AF_INET ? Array(raw[4..<8]) : Array(raw[8..<24])
    }
  }

  deinit { close(fd) }

  static func length(_ family: Int32) -> socklen_t {
    socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
  }

  /// 127.0.0.1 or ::1 at `port`.
  static func address(family: Int32, port: UInt16) -> sockaddr_storage {
    var storage = sockaddr_storage()
    withUnsafeMutableBytes(of: &storage) { raw in
      if family == AF_INET {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = inet_addr("127.0.0.1")
        withUnsafeBytes(of: &sin) { raw.copyMemory(from: $0) }
      } else {
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        sin6.sin6_addr = in6addr_loopback
        withUnsafeBytes(of: &sin6) { raw.copyMemory(from: $0) }
      }
    }
    return storage
  }

  func send(_ bytes: [UInt8], toPort port: UInt16) {
    var destination = Self.address(family: family, port: port)
    let sent = withUnsafePointer(to: &destination) { dst in
      dst.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, Self.length(family)) }
    }
    XCTAssertEqual(sent, bytes.count)
  }

  /// The next datagram, or nil after `timeoutSeconds`.
  func receive(timeoutSeconds: Double = 3) -> [UInt8]? {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&p, 1, Int32(timeoutSeconds * 1000)) == 1 else { return nil }
    var buffer = [UInt8](repeating: 0, count: 2048)
    let n = recv(fd, &buffer, buffer.count, 0)
    return n < 0 ? nil : Array(buffer[0..<n])
  }

  /// Sends a Tailscale binding request and returns the parsed answer with its txID.
  func bindingRoundTrip(port: UInt16, file: StaticString = #filePath, line: UInt = #line) -> STUNTestMessage.Answer? {
    let txID = STUNTestMessage.randomTxID()
    send(STUNTestMessage.tailscaleRequest(txID), toPort: port)
    guard let reply = receive() else {
      XCTFail("no STUN answer", file: file, line: line)
      return nil
    }
    let answer = STUNTestMessage.parseSuccess(reply)
    XCTAssertEqual(answer?.txID, txID, "answer for another transaction", file: file, line: line)
    return answer
  }
}
