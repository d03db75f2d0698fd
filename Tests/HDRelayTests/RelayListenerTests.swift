// Where the relay listens (port, bind on IPv4 and IPv6) and which io_uring
// setup it runs with (sqpoll really taking effect).
import Foundation
import HDClient
import HDConfig
import XCTest
@testable import HDRelay

final class RelayListenerTests: XCTestCase {
  func testBindListensOnEveryListedAddressAtThePort() throws {
    let port = freeLoopbackPort()
    let harness = try RelayHarness(workers: 1) {
      $0.port = Int(port)
      $0.bind = ["127.0.0.1", "::1"]
    }
    XCTAssertEqual(Set(harness.relay.boundPorts), [Int(port)])
    let v4 = try DERPClient.connect(host: "127.0.0.1", port: port)
    let v6 = try DERPClient.connect(host: "::1", port: port)
    try v4.send(to: v6.publicKey, packet: [6])
    XCTAssertEqual(try v6.receivePacket().packet, [6])
    XCTAssertThrowsError(try DERPClient.connect(host: "127.0.0.2", port: port), "not bound to other addresses")
  }

  func testSqpollRingsAreReallyUsed() throws {
    let harness = try RelayHarness(workers: 1) { $0.sqpoll = true }
    let flags = try XCTUnwrap(harness.relay.workersSnapshot().first?.ringFlags)
    XCTAssertTrue(flags.contains("SQPOLL"), "ring flags: \(flags)\nlog: \(harness.logs.lines.joined())")
    let a = try harness.connect()
    let b = try harness.connect()
    try a.send(to: b.publicKey, packet: [5])
    XCTAssertEqual(try b.receivePacket().packet, [5])

    let plain = try RelayHarness(workers: 1)
    XCTAssertFalse(try XCTUnwrap(plain.relay.workersSnapshot().first?.ringFlags).contains("SQPOLL"))
  }
}
