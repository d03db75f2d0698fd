// verify_clients.url end to end: a real relay asks a real (in-test) HTTP
// controller about each client after ClientInfo opens, and admits, closes, or
// falls back on fail_open exactly as derper does.
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest
@testable import HDRelay

final class VerifyClientsTests: XCTestCase {
  private func relay(url: String, failOpen: Bool = false, timeoutSeconds: Double = RelayDefaults.verifyTimeoutSeconds,
                     workers: Int = 2) throws -> RelayHarness {
    try RelayHarness(workers: workers, { config in
      config.verifyClients = VerifyClientsConfig(url: url, failOpen: failOpen)
    }, adjust: { $0.verifyTimeoutSeconds = timeoutSeconds })
  }

  /// Connects and reports how the handshake ended: the client, or the error.
  private func attempt(_ harness: RelayHarness, keys: DERPKeyPair) -> Result<DERPClient, DERPClientError> {
    attemptHandshake(port: harness.port, keys: keys)
  }

  func testAllowedClientsArePostedExactlyAndRelay() throws {
    let controller = try VerifyControllerStub { _ in .allow(true) }
    defer { controller.stop() }
    let harness = try relay(url: controller.url)
    let aKeys = DERPKeyPair.generate(), bKeys = DERPKeyPair.generate()
    let a = try harness.connect(keys: aKeys)
    let b = try harness.connect(keys: bKeys)
    try a.send(to: bKeys.publicKey, packet: [1, 2, 3])
    let got = try b.receivePacket()
    XCTAssertEqual(got.source, aKeys.publicKey)
    XCTAssertEqual(got.packet, [1, 2, 3])

    let requests = controller.requests
    XCTAssertEqual(requests.count, 2)
    XCTAssertEqual(Set(requests.map(\.body)), [
      "{\"NodePublic\":\"nodekey:\(aKeys.publicKey.hex)\",\"Source\":\"127.0.0.1\"}",
      "{\"NodePublic\":\"nodekey:\(bKeys.publicKey.hex)\",\"Source\":\"127.0.0.1\"}",
    ])
    for request in requests {
      XCTAssertEqual(request.requestLine, "POST /verify HTTP/1.1")
      XCTAssertEqual(request.headers["host"], "127.0.0.1:\(controller.port)")
      XCTAssertEqual(request.headers["content-type"], "application/json")
    }
    let stats = harness.relay.statsSnapshot().verifyClients
    XCTAssertEqual(stats.allowed, 2)
    XCTAssertEqual(stats.denied, 0)
    XCTAssertTrue(harness.logs.lines.contains { $0.contains("verify_clients: asking http://127.0.0.1:\(controller.port)/verify") },
                  "\(harness.logs.lines)")
    XCTAssertEqual(stats.errors.reduce(0, +), 0)
  }

  func testDeniedClientIsClosedWithoutServerInfo() throws {
    let denied = DERPKeyPair.generate()
    let deniedText = denied.publicKey.nodeKeyText
    let controller = try VerifyControllerStub { $0 == deniedText ? .allow(false) : .allow(true) }
    defer { controller.stop() }
    let harness = try relay(url: controller.url)
    let started = Date()
    switch attempt(harness, keys: denied) {
    case .success: XCTFail("a denied client got ServerInfo")
    case .failure(let error):
      XCTAssertTrue(error == .closed || { if case .io = error { return true } else { return false } }(),
                    "closed, not \(error)")
    }
    XCTAssertLessThan(Date().timeIntervalSince(started), 4, "closed on the answer, not by a timeout")
    let stats = harness.relay.statsSnapshot()
    XCTAssertEqual(stats.verifyClients.denied, 1)
    XCTAssertEqual(stats.currentPeers, 0)
    // Others still get in.
    let other = try harness.connect()
    try other.barrier()
    XCTAssertEqual(harness.relay.statsSnapshot().verifyClients.allowed, 1)
  }

  func testControllerDownClosesWhenFailClosed() throws {
    let harness = try relay(url: "http://127.0.0.1:\(freeLoopbackPort())/verify", failOpen: false)
    if case .success = attempt(harness, keys: .generate()) { XCTFail("admitted with the controller down and fail_open false") }
    let stats = harness.relay.statsSnapshot()
    XCTAssertEqual(stats.verifyClients.errors(.unreachable), 1)
    XCTAssertEqual(stats.verifyClients.failOpenAdmits, 0)
    XCTAssertEqual(stats.currentPeers, 0)
  }

  func testControllerDownAdmitsWhenFailOpen() throws {
    let harness = try relay(url: "http://127.0.0.1:\(freeLoopbackPort())/verify", failOpen: true)
    let aKeys = DERPKeyPair.generate()
    let a = try harness.connect(keys: aKeys)
    let b = try harness.connect()
    try b.send(to: aKeys.publicKey, packet: [9])
    XCTAssertEqual(try a.receivePacket().packet, [9])
    let stats = harness.relay.statsSnapshot().verifyClients
    XCTAssertEqual(stats.errors(.unreachable), 2)
    XCTAssertEqual(stats.failOpenAdmits, 2)
    XCTAssertEqual(stats.allowed, 0)
  }

  func testBadStatusAndBadJSONAreErrorsNotAnswers() throws {
    let statusKeys = DERPKeyPair.generate(), junkKeys = DERPKeyPair.generate()
    let statusText = statusKeys.publicKey.nodeKeyText
    let controller = try VerifyControllerStub { $0 == statusText ? .status(500) : .body("not json") }
    defer { controller.stop() }
    let closed = try relay(url: controller.url, failOpen: false)
    if case .success = attempt(closed, keys: statusKeys) { XCTFail("500 admitted with fail_open false") }
    if case .success = attempt(closed, keys: junkKeys) { XCTFail("bad JSON admitted with fail_open false") }
    let stats = closed.relay.statsSnapshot().verifyClients
    XCTAssertEqual(stats.errors(.badStatus), 1)
    XCTAssertEqual(stats.errors(.badResponse), 1)
    // fail_open covers an unreachable controller, not one that answered
    // wrongly (derper): both clients stay out even with fail_open true.
    let open = try relay(url: controller.url, failOpen: true)
    if case .success = attempt(open, keys: statusKeys) { XCTFail("500 admitted with fail_open true") }
    if case .success = attempt(open, keys: junkKeys) { XCTFail("bad JSON admitted with fail_open true") }
    XCTAssertEqual(open.relay.statsSnapshot().verifyClients.failOpenAdmits, 0)
  }

  /// A controller that never answers: the decision comes at the (shortened)
  /// timeout, and meanwhile other clients handshake and relay on the same workers.
  func testSlowControllerTimesOutWhileOthersKeepRelaying() throws {
    let slow = DERPKeyPair.generate()
    let slowText = slow.publicKey.nodeKeyText
    let controller = try VerifyControllerStub { $0 == slowText ? .hang : .allow(true) }
    defer { controller.stop() }
    let timeoutSeconds = 1.5
    let harness = try relay(url: controller.url, failOpen: false, timeoutSeconds: timeoutSeconds, workers: 1)
    let outcome = LockedResult()
    let started = Date()
    let relayPort = harness.port
    let thread = Thread {
      let result = attemptHandshake(port: relayPort, keys: slow)
      outcome.set(result, elapsed: Date().timeIntervalSince(started))
    }
    thread.start()
    // Wait until the slow request reached the controller, then use the relay.
    let deadline = Date().addingTimeInterval(3)
    while Date() < deadline && !controller.requests.contains(where: { $0.body.contains(slow.publicKey.hex) }) {
      Thread.sleep(forTimeInterval: 0.01)
    }
    let aKeys = DERPKeyPair.generate()
    let a = try harness.connect(keys: aKeys)
    let b = try harness.connect()
    for i in 0..<20 {
      try b.send(to: aKeys.publicKey, packet: [UInt8(i)])
      XCTAssertEqual(try a.receivePacket().packet, [UInt8(i)])
    }
    XCTAssertNil(outcome.elapsed, "the slow client is still waiting while others relay")
    XCTAssertEqual(harness.relay.statsSnapshot().verifyClients.errors(.timeout), 0)
    XCTAssertEqual(harness.relay.statsSnapshot().verifyClients.allowed, 2)

    while outcome.elapsed == nil && Date().timeIntervalSince(started) < 10 { Thread.sleep(forTimeInterval: 0.02) }
    guard let elapsed = outcome.elapsed else { return XCTFail("no decision for the slow client") }
    if case .success = outcome.result { XCTFail("admitted after a timeout with fail_open false") }
    XCTAssertGreaterThanOrEqual(elapsed, timeoutSeconds - 0.1, "decided only after the timeout")
    XCTAssertEqual(harness.relay.statsSnapshot().verifyClients.errors(.timeout), 1)
  }

  func testSlowControllerAdmitsAfterTimeoutWhenFailOpen() throws {
    let controller = try VerifyControllerStub { _ in .hang }
    defer { controller.stop() }
    let harness = try relay(url: controller.url, failOpen: true, timeoutSeconds: 0.5)
    let started = Date()
    let client = try harness.connect()
    try client.barrier()
    XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.4)
    let stats = harness.relay.statsSnapshot().verifyClients
    XCTAssertEqual(stats.errors(.timeout), 1)
    XCTAssertEqual(stats.failOpenAdmits, 1)
  }

  /// Frames pipelined behind ClientInfo (same write) are held while the
  /// controller decides and handled once the client is admitted.
  func testFramesSentRightAfterClientInfoAreHandledAfterAdmission() throws {
    let controller = try VerifyControllerStub { _ in .allow(true) }
    defer { controller.stop() }
    let harness = try relay(url: controller.url, workers: 1)
    let bKeys = DERPKeyPair.generate()
    let b = try harness.connect(keys: bKeys)
    let raw = try harness.rawConnection()
    XCTAssertTrue(raw.upgradeAndReadServerKey(serverKey: harness.serverKeys.publicKey))
    let client = DERPKeyPair.generate()
    func frame(_ type: FrameType, _ payload: [UInt8]) -> [UInt8] {
      let n = UInt32(payload.count)
      return [type.rawValue, UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + payload
    }
    let sealed = NaClBox.seal(Array("{\"version\":2}".utf8), to: harness.serverKeys.publicKey, from: client.privateKey)
    raw.send(frame(.clientInfo, client.publicKey.bytes + sealed)
      + frame(.sendPacket, bKeys.publicKey.bytes + [4, 5, 6])
      + frame(.ping, [1, 2, 3, 4, 5, 6, 7, 8]))
    let first = raw.readFrame()
    XCTAssertEqual(first?.type, FrameType.serverInfo.rawValue, "ServerInfo comes first, after Allow")
    let got = try b.receivePacket()
    XCTAssertEqual(got.source, client.publicKey)
    XCTAssertEqual(got.packet, [4, 5, 6])
    var pong: [UInt8]? = nil
    while pong == nil, let next = raw.readFrame() { if next.type == FrameType.pong.rawValue { pong = next.payload } }
    XCTAssertEqual(pong, [1, 2, 3, 4, 5, 6, 7, 8])
    XCTAssertEqual(harness.relay.statsSnapshot().verifyClients.allowed, 2)
  }

  /// With the bounded queue full, a new client is not queued: it counts as
  /// queue_full and fail_open decides at once (closed here, not after a timeout).
  func testFullQueueIsCountedAndDecidedByFailOpen() throws {
    let controller = try VerifyControllerStub { _ in .hang }
    defer { controller.stop() }
    let harness = try RelayHarness(workers: 1, { config in
      config.verifyClients = VerifyClientsConfig(url: controller.url, failOpen: false)
    }, adjust: {
      $0.verifyTimeoutSeconds = 3
      $0.verifyPendingPerWorkerMax = 1
    })
    let first = DERPKeyPair.generate()
    let relayPort = harness.port
    let thread = Thread { _ = attemptHandshake(port: relayPort, keys: first) }
    thread.start()
    let deadline = Date().addingTimeInterval(3)
    while Date() < deadline && controller.requests.isEmpty { Thread.sleep(forTimeInterval: 0.01) }
    XCTAssertEqual(controller.requests.count, 1, "the first verification is pending at the controller")
    let started = Date()
    if case .success = attempt(harness, keys: .generate()) { XCTFail("admitted past a full queue with fail_open false") }
    XCTAssertLessThan(Date().timeIntervalSince(started), 2, "decided without waiting for the controller")
    let stats = harness.relay.statsSnapshot().verifyClients
    XCTAssertEqual(stats.errors(.queueFull), 1)
    XCTAssertEqual(controller.requests.count, 1, "the refused one never reached the controller")
  }

  /// Requests queued behind a stalled controller time out from when they were
  /// queued, so fail_open admits them in time instead of the handshake deadline closing them.
  func testQueuedBehindStalledControllerStillDecidesWithinTimeout() throws {
    let controller = try VerifyControllerStub { _ in .hang }
    defer { controller.stop() }
    let harness = try relay(url: controller.url, failOpen: true, timeoutSeconds: 1.5, workers: 1)
    // Two and a half batches of verifier threads: timed from dequeue they would take 3 × 1.5 s.
    let count = 2 * ClientVerifier.threadCount + 2
    let relayPort = harness.port
    let admitted = Counter()
    let started = Date()
    let threads = (0..<count).map { _ in
      Thread {
        if case .success(let client) = attemptHandshake(port: relayPort, keys: .generate()), (try? client.barrier()) != nil {
          admitted.increment()
        }
      }
    }
    threads.forEach { $0.start() }
    while admitted.value < count && Date().timeIntervalSince(started) < 8 { Thread.sleep(forTimeInterval: 0.02) }
    XCTAssertEqual(admitted.value, count)
    XCTAssertLessThan(Date().timeIntervalSince(started), 3.5, "all decided about one timeout after queueing")
    XCTAssertEqual(harness.relay.statsSnapshot().verifyClients.errors(.timeout), UInt64(count))
  }

  func testDefaultTimeoutIsFiveSeconds() {
    XCTAssertEqual(RelayDefaults.verifyTimeoutSeconds, 5)
  }
}

/// Connects and reports how the handshake ended: the client, or the error.
private func attemptHandshake(port: UInt16, keys: DERPKeyPair) -> Result<DERPClient, DERPClientError> {
  var options = DERPClientOptions()
  options.readTimeoutSeconds = 5
  do { return .success(try DERPClient.connect(host: "127.0.0.1", port: port, keys: keys, options: options)) } catch {
    return .failure(error)
  }
}

private final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var stored = 0
  func increment() { lock.withLock { stored += 1 } }
  var value: Int { lock.withLock { stored } }
}

/// The slow client's handshake result, set from its thread.
private final class LockedResult: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: (Result<DERPClient, DERPClientError>, Double)? = nil
  func set(_ result: Result<DERPClient, DERPClientError>, elapsed: Double) { lock.withLock { stored = (result, elapsed) } }
  var elapsed: Double? { lock.withLock { stored?.1 } }
  var result: Result<DERPClient, DERPClientError>? { lock.withLock { stored?.0 } }
}
