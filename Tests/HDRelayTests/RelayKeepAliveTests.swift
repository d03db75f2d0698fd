// Server KeepAlive frames: every 60 s plus a per-connection jitter in [0, 5 s)
// by default (a client's 120 s read timeout must never fire on an idle link);
// tests shorten the period through RelayOptions to watch it happen.
import Foundation
import HDClient
import HDProtocol
import XCTest
@testable import HDRelay

final class RelayKeepAliveTests: XCTestCase {
  func testDefaultsAreDerpersSixtySecondsPlusUpToFive() {
    XCTAssertEqual(RelayDefaults.keepAliveSeconds, 60)
    XCTAssertEqual(RelayDefaults.keepAliveJitterSecondsMax, 5)
    let options = RelayOptions(config: .init(), serverKeyPair: .generate(), workerCount: 1)
    XCTAssertEqual(options.keepAliveSeconds, 60)
    XCTAssertEqual(options.keepAliveJitterSecondsMax, 5)
  }

  func testKeepAlivesArriveEveryPeriodPlusJitter() throws {
    let harness = try RelayHarness(workers: 1) { _ in } adjust: {
      $0.keepAliveSeconds = 0.5
      $0.keepAliveJitterSecondsMax = 0.3
    }
    let client = try harness.connect()
    let connected = Date()
    var arrivals: [Double] = []
    while arrivals.count < 4 {
      let frame = try client.receive(timeoutSeconds: .some(2))
      if frame == .keepAlive { arrivals.append(Date().timeIntervalSince(connected)) }
    }
    let gaps = zip(arrivals.dropFirst(), arrivals).map { $0 - $1 }
    XCTAssertGreaterThan(arrivals[0], 0.35, "first keep-alive too early: \(arrivals)")
    // Period plus jitter, plus slack for the worker's timer scan.
    for gap in gaps {
      XCTAssertGreaterThan(gap, 0.35, "keep-alives \(arrivals)")
      XCTAssertLessThan(gap, 1.3, "keep-alives \(arrivals)")
    }
    XCTAssertGreaterThanOrEqual(harness.relay.statsSnapshot().keepAlivesSent, 4)
  }

  /// Each connection draws its own jitter, so connections registered together
  /// do not all send at the same moment.
  func testJitterDiffersBetweenConnections() throws {
    let harness = try RelayHarness(workers: 1) { _ in } adjust: {
      $0.keepAliveSeconds = 0.3
      $0.keepAliveJitterSecondsMax = 1.0
    }
    let clients = try (0..<6).map { _ in UncheckedSendable(try harness.connect()) }
    let delays = LockedBox<[Double]>([])
    let group = DispatchGroup()
    for client in clients {
      group.enter()
      Thread {
        let started = Date()
        if (try? client.value.receive(until: { $0 == .keepAlive }, timeoutSeconds: 3)) != nil {
          let delay = Date().timeIntervalSince(started)
          delays.mutate { $0.append(delay) }
        }
        group.leave()
      }.start()
    }
    XCTAssertEqual(group.wait(timeout: .now() + 5), .success)
    let measured = delays.value
    XCTAssertEqual(measured.count, 6, "every connection got a keep-alive: \(measured)")
    XCTAssertLessThan(measured.max() ?? 9, 1.8, "\(measured)")
    XCTAssertGreaterThan((measured.max() ?? 0) - (measured.min() ?? 0), 0.15, "no jitter: \(measured)")
  }

  func testNoKeepAliveWellBeforeTheDefaultPeriod() throws {
    let harness = try RelayHarness(workers: 1)
    let client = try harness.connect()
    XCTAssertThrowsError(try client.receive(until: { $0 == .keepAlive }, timeoutSeconds: 1.5))
  }
}
