// How the responder reads the client's address out of the kernel's sockaddr:
// IPv4, IPv6, and IPv4-mapped IPv6 (answered as IPv4, as Tailscale's
// ParseResponse unmaps it anyway).
import Foundation
import XCTest

@testable import HDRelay

final class STUNSourceAddressTests: XCTestCase {
  private func source(of storage: sockaddr_storage) -> (family: UInt8, port: UInt16, address: [UInt8])? {
    var copy = storage
    return withUnsafeBytes(of: &copy) { raw in
      STUNLoop.source(raw).map { s in
        (s.family, s.port, Array(UnsafeRawBufferPointer(start: s.address, count: s.family == 1 ? 4 : 16)))
      }
    }
  }

  private func ipv6(_ bytes: [UInt8], port: UInt16) -> sockaddr_storage {
    var storage = sockaddr_storage()
    var sin6 = sockaddr_in6()
    sin6.sin6_family = sa_family_t(AF_INET6)
    sin6.sin6_port = port.bigEndian
    withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) }
    withUnsafeMutableBytes(of: &storage) { raw in withUnsafeBytes(of: &sin6) { raw.copyMemory(from: $0) } }
    return storage
  }

  func testIPv4IPv6AndMappedSources() {
    let v4 = STUNTestSocket.address(family: AF_INET, port: 4242)
    XCTAssertEqual(source(of: v4)?.family, 1)
    XCTAssertEqual(source(of: v4)?.port, 4242)
    XCTAssertEqual(source(of: v4)?.address, [127, 0, 0, 1])

    let plain: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [7]
    XCTAssertEqual(source(of: ipv6(plain, port: 9))?.family, 2)
    XCTAssertEqual(source(of: ipv6(plain, port: 9))?.address, plain)

    let mapped: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF, 192, 0, 2, 33]
    XCTAssertEqual(source(of: ipv6(mapped, port: 3478))?.family, 1)
    XCTAssertEqual(source(of: ipv6(mapped, port: 3478))?.address, [192, 0, 2, 33])
    XCTAssertEqual(source(of: ipv6(mapped, port: 3478))?.port, 3478)

    var unix = sockaddr_storage()
    unix.ss_family = sa_family_t(AF_UNIX)
    XCTAssertNil(source(of: unix))
  }
}
