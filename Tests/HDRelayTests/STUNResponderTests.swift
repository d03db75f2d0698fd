// The STUN binding responder over real UDP on 127.0.0.1 and ::1: Tailscale's
// request is answered with the client's own address, malformed datagrams get
// no answer and are counted, and the responder keeps serving afterwards.
import Foundation
import HDConfig
import XCTest

@testable import HDRelay

final class STUNResponderTests: XCTestCase {
  private func startServer(bind: [String] = ["127.0.0.1", "::1"]) throws -> STUNServer {
    let server = try STUNServer(bind: bind, port: 0)
    try server.start()
    addTeardownBlock { server.stop() }
    return server
  }

  private func assertAnswersItsOwnAddress(_ client: STUNTestSocket, port: UInt16, file: StaticString = #filePath, line: UInt = #line) {
    guard let answer = client.bindingRoundTrip(port: port, file: file, line: line) else { return }
    XCTAssertEqual(answer.address, client.localAddress, "XOR-MAPPED-ADDRESS address", file: file, line: line)
    XCTAssertEqual(answer.port, client.localPort, "XOR-MAPPED-ADDRESS port", file: file, line: line)
    XCTAssertTrue(answer.fingerprintValid, "FINGERPRINT", file: file, line: line)
    XCTAssertEqual(answer.software, "hyper-derp", file: file, line: line)
    XCTAssertEqual(answer.attributeTypes, [0x0020, 0x8022, 0x8028], file: file, line: line)
  }

  func testTailscaleBindingRequestIsAnsweredOverIPv4AndIPv6() throws {
    let server = try startServer()
    XCTAssertEqual(server.boundAddresses.map(\.address), ["127.0.0.1", "::1"])
    XCTAssertEqual(Set(server.boundAddresses.map(\.port)).count, 1, "both families on one port")
    let port = UInt16(server.port)
    XCTAssertNotEqual(port, 0)

    let v4 = try STUNTestSocket(loopback: AF_INET)
    let v6 = try STUNTestSocket(loopback: AF_INET6)
    XCTAssertEqual(v6.localAddress, Array(repeating: 0, count: 15) + [1])
    assertAnswersItsOwnAddress(v4, port: port)
    assertAnswersItsOwnAddress(v6, port: port)
    assertAnswersItsOwnAddress(v4, port: port)

    // Responses are counted after sendmmsg returns (see below).
    try waitUntil("the last response is counted", timeoutSeconds: 5) { server.statsSnapshot().responses == 3 }
    let stats = server.statsSnapshot()
    XCTAssertEqual(stats.requestsIPv4, 2)
    XCTAssertEqual(stats.requestsIPv6, 1)
    XCTAssertEqual(stats.responses, 3)
    XCTAssertEqual(stats.malformedTotal, 0)
    XCTAssertEqual(stats.sendFailures, 0)
  }

  func testPlainRFC5389RequestWithoutAttributesIsAnswered() throws {
    let server = try startServer(bind: ["127.0.0.1"])
    let client = try STUNTestSocket(loopback: AF_INET)
    let txID = STUNTestMessage.randomTxID()
    client.send([0x00, 0x01, 0x00, 0x00] + STUNTestMessage.cookie + txID, toPort: UInt16(server.port))
    let answer = client.receive().flatMap(STUNTestMessage.parseSuccess)
    XCTAssertEqual(answer?.txID, txID)
    XCTAssertEqual(answer?.address, [127, 0, 0, 1])
    XCTAssertEqual(answer?.port, client.localPort)
    XCTAssertEqual(answer?.fingerprintValid, true)
  }

  func testMalformedDatagramsGetNoAnswerAreCountedAndServiceContinues() throws {
    let server = try startServer()
    let good = STUNTestMessage.tailscaleRequest(STUNTestMessage.randomTxID())
    func withType(_ type: UInt16) -> [UInt8] { [UInt8(type >> 8), UInt8(type & 0xFF)] + good[2...] }
    var badCookie = good
    badCookie[5] ^= 0x01
    var badFingerprint = good
    badFingerprint[good.count - 1] ^= 0x01
    var badLength = good
    badLength[3] += 4  // header claims 4 more attribute bytes than arrived
    var oddLength = good
    oddLength[3] -= 2  // not a multiple of 4
    // FINGERPRINT first, SOFTWARE after it: the CRC is right but not last.
    let body = Array(good[20..<32])
    let header: [UInt8] = [0x00, 0x01, 0x00, 20] + Array(good[4..<20])
    let fpFirst = header + STUNTestMessage.u16(0x8028) + STUNTestMessage.u16(4)
      + STUNTestMessage.u32(STUNTestMessage.fingerprint(header)) + body
    var overrun = Array(good[0..<20]) + STUNTestMessage.u16(0x8022) + STUNTestMessage.u16(200) + Array("tailnode".utf8)
    overrun[3] = 12
    var username = Array(good[0..<20]) + STUNTestMessage.u16(0x0006) + STUNTestMessage.u16(4) + Array("user".utf8)
    username[3] = 8

    let cases: [(String, [UInt8], STUNDropReason)] = [
      ("empty", [], .tooShort),
      ("short", Array(good[0..<19]), .tooShort),
      ("oversized", good + [UInt8](repeating: 0, count: 1500), .tooLong),
      ("bad cookie", badCookie, .notSTUN),
      ("top bits set", withType(0xC001), .notSTUN),
      ("length beyond datagram", badLength, .badLength),
      ("length not a multiple of 4", oddLength, .badLength),
      ("success response class", withType(0x0101), .notBindingRequest),
      ("indication class", withType(0x0011), .notBindingRequest),
      ("error response class", withType(0x0111), .notBindingRequest),
      ("other method", withType(0x0003), .notBindingRequest),
      ("attribute past the end", overrun, .badAttribute),
      ("comprehension-required attribute", username, .unknownRequiredAttribute),
      ("bad fingerprint", badFingerprint, .badFingerprint),
      ("fingerprint not last", fpFirst, .badFingerprint),
    ]
    var expected = [UInt64](repeating: 0, count: STUNDropReason.allCases.count)
    for family in [AF_INET, AF_INET6] {
      let client = try STUNTestSocket(loopback: family)
      for (name, datagram, reason) in cases {
        client.send(datagram, toPort: UInt16(server.port))
        expected[reason.rawValue] += 1
        // Same socket, same order: the first datagram back must answer the good request.
        let answer = client.bindingRoundTrip(port: UInt16(server.port))
        XCTAssertNotNil(answer, "after \(name)")
      }
    }
    // The server counts a response after sendmmsg returns, so the client can
    // hold the last answer a moment before the counter moves.
    try waitUntil("the last response is counted", timeoutSeconds: 5) {
      server.statsSnapshot().responses == UInt64(2 * cases.count)
    }
    let stats = server.statsSnapshot()
    XCTAssertEqual(stats.drops, expected, "per-reason drops")
    XCTAssertEqual(stats.malformedTotal, UInt64(2 * cases.count))
    XCTAssertEqual(stats.responses, UInt64(2 * cases.count))
    XCTAssertEqual(stats.requestsIPv4, UInt64(cases.count))
    XCTAssertEqual(stats.requestsIPv6, UInt64(cases.count))
  }

  func testRandomDatagramsNeverCrashAndAreAllAccountedFor() throws {
    let server = try startServer(bind: ["127.0.0.1"])
    let client = try STUNTestSocket(loopback: AF_INET)
    var generator = SystemRandomNumberGenerator()
    var sent: UInt64 = 0
    for _ in 0..<20 {
      // Paced in rounds so the socket buffer never overflows (every datagram must be counted).
      for _ in 0..<50 {
        var datagram = (0..<Int.random(in: 0...96, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        if datagram.count >= 20 && Bool.random(using: &generator) {
          // Half of them look like STUN: valid cookie and matching length, random attributes.
          datagram.replaceSubrange(0..<8, with: [0x00, 0x01, 0x00, UInt8((datagram.count - 20) & 0xFF)] + STUNTestMessage.cookie)
        }
        client.send(datagram, toPort: UInt16(server.port))
        sent += 1
      }
      _ = client.drainUntilAnswer(port: UInt16(server.port))
      sent += 1
    }
    // Responses are counted after sendmmsg returns: let the last one land.
    try waitUntil("every answered request is counted as a response", timeoutSeconds: 5) {
      let s = server.statsSnapshot()
      return s.responses == s.requestsIPv4
    }
    let stats = server.statsSnapshot()
    XCTAssertEqual(stats.requestsIPv4 + stats.malformedTotal, sent, "every datagram answered or counted as dropped")
    XCTAssertEqual(stats.responses, stats.requestsIPv4)
    XCTAssertEqual(stats.receiveErrors, 0)
  }

  func testStopIsIdempotentAndReleasesThePort() throws {
    let server = try STUNServer(bind: ["127.0.0.1"], port: 0)
    try server.start()
    let port = server.port
    XCTAssertThrowsError(try server.start())
    XCTAssertTrue(server.stop(timeoutSeconds: 2))
    XCTAssertTrue(server.stop(timeoutSeconds: 2))
    let client = try STUNTestSocket(loopback: AF_INET)
    client.send(STUNTestMessage.tailscaleRequest(STUNTestMessage.randomTxID()), toPort: UInt16(port))
    XCTAssertNil(client.receive(timeoutSeconds: 0.3), "answered after stop")

    let again = try STUNServer(bind: ["127.0.0.1"], port: port)
    try again.start()
    defer { again.stop() }
    XCTAssertEqual(again.port, port)
    XCTAssertNotNil(client.bindingRoundTrip(port: UInt16(port)))
  }

  func testATakenPortIsAnErrorNamingAddressAndPort() throws {
    let first = try startServer(bind: ["127.0.0.1"])
    let second = try STUNServer(bind: ["127.0.0.1"], port: first.port)
    XCTAssertThrowsError(try second.start()) { error in
      let text = String(describing: error)
      XCTAssertTrue(text.contains("127.0.0.1") && text.contains("\(first.port)"), text)
      XCTAssertTrue(text.contains("in use"), text)
    }
  }

  func testAllAddressesServesIPv4AndIPv6OnSeparateSockets() throws {
    let server = try startServer(bind: [])
    XCTAssertEqual(server.boundAddresses.map(\.address), ["0.0.0.0", "::"])
    assertAnswersItsOwnAddress(try STUNTestSocket(loopback: AF_INET), port: UInt16(server.port))
    assertAnswersItsOwnAddress(try STUNTestSocket(loopback: AF_INET6), port: UInt16(server.port))
    let stats = server.statsSnapshot()
    XCTAssertEqual([stats.requestsIPv4, stats.requestsIPv6], [1, 1])
  }

  func testConfigWithoutStunPortMakesNoServerAndBadBindIsRefused() throws {
    XCTAssertNil(try STUNServer(config: Config()))
    XCTAssertThrowsError(try STUNServer(bind: ["localhost"], port: 3478)) { error in
      XCTAssertTrue(String(describing: error).contains("localhost"))
    }
  }
}

extension STUNTestSocket {
  /// Sends a good request and reads until its answer arrives (random
  /// datagrams may have been valid requests and been answered too).
  func drainUntilAnswer(port: UInt16) -> STUNTestMessage.Answer? {
    let txID = STUNTestMessage.randomTxID()
    send(STUNTestMessage.tailscaleRequest(txID), toPort: port)
    while let reply = receive() {
      if let answer = STUNTestMessage.parseSuccess(reply), answer.txID == txID { return answer }
    }
    XCTFail("no answer to the good request")
    return nil
  }
}
