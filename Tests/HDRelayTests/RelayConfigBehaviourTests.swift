// Settings that must really take effect: pin_cores, sockbuf, max_accept_rate,
// peer_rate_limit, busy_poll. Each is checked on the running relay, not on its options.
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest
@testable import HDRelay

final class RelayConfigBehaviourTests: XCTestCase {
  /// With a long window the worker is still polling when the echo comes back,
  /// so it finds the reply without sleeping (a hit); with 0 it never polls.
  func testBusyPollFindsTheEchoWithoutSleepingAndZeroTurnsItOff() throws {
    for microseconds in [10_000, 0] {
      let harness = try RelayHarness(workers: 1) { $0.busyPollMicroseconds = microseconds }
      let a = try harness.connect()
      let b = try harness.connect()
      for i in 0..<20 {
        try a.send(to: b.publicKey, packet: numberedPacket(i, bytes: 64))
        XCTAssertEqual(try b.receivePacket(timeoutSeconds: 5).packet, numberedPacket(i, bytes: 64))
        try b.send(to: a.publicKey, packet: numberedPacket(i, bytes: 64))
        XCTAssertEqual(try a.receivePacket(timeoutSeconds: 5).packet, numberedPacket(i, bytes: 64))
      }
      let stats = harness.relay.statsSnapshot()
      if microseconds > 0 {
        XCTAssertGreaterThan(stats.busyPollHits, 0, "the replies arrived while the worker polled")
      } else {
        XCTAssertEqual(stats.busyPollHits + stats.busyPollMisses, 0, "busy_poll: 0 never polls")
      }
    }
  }

  /// Reads each worker thread's CPU mask from the kernel (sched_getaffinity of its tid).
  func testWorkersArePinnedToTheirCores() throws {
    let host = CPUAvailability.probe()
    try XCTSkipUnless(host.allowed.count >= 2, "needs two CPUs")
    let (first, second) = (host.allowed[0], host.allowed[1])
    for pins in [[first, second], [second]] {
      let harness = try RelayHarness(workers: pins.count, pinCores: pins)
      let workers = harness.relay.workersSnapshot()
      XCTAssertEqual(workers.count, pins.count)
      for (index, worker) in workers.enumerated() {
        XCTAssertGreaterThan(worker.threadID, 0)
        XCTAssertEqual(ThreadAffinity.cpus(ofThread: worker.threadID), [pins[index]], "worker \(index) of \(pins)")
      }
    }
    // Unpinned workers keep the whole mask.
    let unpinned = try RelayHarness(workers: 1)
    let tid = try XCTUnwrap(unpinned.relay.workersSnapshot().first?.threadID)
    XCTAssertEqual(ThreadAffinity.cpus(ofThread: tid).map(Set.init), Set(host.affinity))
  }

  /// The relay's end of a connection lives in this process: find it through
  /// /proc/self/fd by matching the peer port, then getsockopt it.
  func testSockbufIsSetOnEveryPeerSocket() throws {
    let requested = 96 * 1024
    let harness = try RelayHarness(workers: 1) { $0.sockbufBytes = requested }
    let client = try harness.connect()
    let raw = try harness.rawConnection()
    // Wait until the relay has accepted it (the ServerKey frame arrived).
    XCTAssertTrue(raw.upgradeAndReadServerKey(serverKey: harness.serverKeys.publicKey))
    for port in [try localPort(of: client), raw.localPort] {
      let fd = try XCTUnwrap(serverSideSocket(peerPort: port), "relay socket for port \(port)")
      // Linux doubles the value for its bookkeeping.
      XCTAssertEqual(socketOption(fd, SO_RCVBUF), 2 * requested)
      XCTAssertEqual(socketOption(fd, SO_SNDBUF), 2 * requested)
    }

    let defaults = try RelayHarness(workers: 1)
    let other = try defaults.rawConnection()
    XCTAssertTrue(other.upgradeAndReadServerKey(serverKey: defaults.serverKeys.publicKey))
    let fd = try XCTUnwrap(serverSideSocket(peerPort: other.localPort))
    XCTAssertNotEqual(socketOption(fd, SO_RCVBUF), 2 * requested, "without sockbuf the kernel default stays")
  }

  func testMaxAcceptRateClosesConnectionsOverTheLimit() throws {
    let harness = try RelayHarness(workers: 1) { $0.maxAcceptRatePerSecond = 5 }
    var accepted = 0
    var refused = 0
    let started = Date()
    for _ in 0..<20 {
      do {
        let client = try harness.connect { $0.handshakeTimeoutSeconds = 2 }
        try client.barrier()
        accepted += 1
      } catch {
        refused += 1
      }
    }
    let elapsed = Date().timeIntervalSince(started)
    XCTAssertGreaterThan(accepted, 0)
    XCTAssertGreaterThan(refused, 0, "20 connections at once exceed 5/s")
    XCTAssertLessThanOrEqual(Double(accepted), 5 * (elapsed + 1) + 1, "accepted \(accepted) in \(elapsed) s")
    Thread.sleep(forTimeInterval: 1.1)
    XCTAssertNoThrow(try harness.connect().barrier(), "the budget refills")
  }

  /// The relay reads a limited peer at about the limit (it stops reading, so
  /// TCP pushes back on the sender) and never damages a frame: what arrives is
  /// whole and in order. Timing comes from when packets reach the receiver
  /// (the relay forwards what it reads at once): after the burst the average
  /// is near the limit, no second carries much more than limit + burst, and a
  /// second peer with its own bucket is not held up by the throttled one.
  func testPeerRateLimitSlowsTheSenderWithoutDamagingFrames() throws {
    let limit = 500_000
    let burst = 500_000  // max(limit, one maximal frame)
    let harness = try RelayHarness(workers: 2) { $0.peerRateLimitBytesPerSecond = Int64(limit) }
    let (sender, receiver) = (try harness.connect(), try harness.connect())
    let (other, otherReceiver) = (try harness.connect(), try harness.connect())
    let packetBytes = 1000
    let frameBytes = 5 + 32 + packetBytes  // what the relay reads per packet
    let count = 2000  // 2.07 MB: the burst, then about 3 s at the limit
    let otherCount = 400  // 415 kB: inside the other peer's own burst

    let limited = SequencedReader(receiver, count: count, packetBytes: packetBytes)
    let sendFailure = LockedBox<String?>(nil)
    sendSequenced(sender, to: receiver.publicKey, count: count, packetBytes: packetBytes, failure: sendFailure)
    // Once the limited sender is past its burst (throttled), the other peer sends its burst.
    while limited.received < 700 && limited.isRunning { Thread.sleep(forTimeInterval: 0.01) }
    let independent = SequencedReader(otherReceiver, count: otherCount, packetBytes: packetBytes)
    let otherStarted = SequencedReader.now()
    sendSequenced(other, to: otherReceiver.publicKey, count: otherCount, packetBytes: packetBytes, failure: sendFailure)

    XCTAssertTrue(independent.wait(seconds: 10), "other peer: \(independent.received) of \(otherCount)")
    XCTAssertTrue(limited.wait(seconds: 20), "limited peer: \(limited.received) of \(count)")
    XCTAssertNil(sendFailure.value)
    XCTAssertNil(limited.problem)
    XCTAssertNil(independent.problem)
    let arrivals = limited.arrivals
    guard arrivals.count == count, independent.arrivals.count == otherCount else { return }

    let otherSeconds = independent.arrivals[otherCount - 1] - otherStarted
    // Its own burst takes milliseconds; sharing the throttled peer's budget would take seconds.
    XCTAssertLessThan(otherSeconds, 1.0, "the other peer's \(otherCount * frameBytes) B within its own burst")
    XCTAssertLessThan(otherSeconds, arrivals[count - 1] - otherStarted, "the other peer finished first")

    // Average after the burst: from the first packet past it to the last.
    let afterBurst = burst / frameBytes + 1
    let steadyBytes = Double((count - 1 - afterBurst) * frameBytes)
    let rate = steadyBytes / (arrivals[count - 1] - arrivals[afterBurst])
    let context = "\(count * frameBytes) B in \(arrivals[count - 1] - arrivals[0]) s (limit \(limit) B/s, burst \(burst) B)"
    XCTAssertLessThan(rate, 1.5 * Double(limit), "\(rate) B/s after the burst: " + context)
    XCTAssertGreaterThan(rate, 0.5 * Double(limit), "\(rate) B/s after the burst: " + context)

    // The busiest second: at most limit + burst, with room for the receiver's scheduling delays.
    var busiestBytes = 0
    var end = 0
    for start in 0..<count {
      while end < count && arrivals[end] < arrivals[start] + 1.0 { end += 1 }
      busiestBytes = max(busiestBytes, (end - start) * frameBytes)
    }
    XCTAssertLessThan(Double(busiestBytes), 1.5 * Double(limit + burst), "busiest second \(busiestBytes) B: " + context)
    XCTAssertGreaterThan(harness.relay.statsSnapshot().rateLimitPauses, 0)
  }

  private func sendSequenced(_ client: DERPClient, to destination: DERPKey, count: Int, packetBytes: Int,
                             failure: LockedBox<String?>) {
    let box = UncheckedSendable(client)
    Thread {
      do {
        for i in 0..<count { try box.value.send(to: destination, packet: sequencedPacket(i, bytes: packetBytes)) }
      } catch {
        failure.value = "\(error)"
      }
    }.start()
  }

  // MARK: Helpers

  private func serverSideSocket(peerPort: UInt16) -> Int32? {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for entry in entries {
      guard let fd = Int32(entry) else { continue }
      var address = sockaddr_storage()
      var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
      let rc = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
      }
      guard rc == 0 else { continue }
      let port: UInt16
      switch Int32(address.ss_family) {
      case AF_INET:
        port = withUnsafeBytes(of: &address) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
      case AF_INET6:
        port = withUnsafeBytes(of: &address) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
      default: continue
      }
      if port == peerPort { return fd }
    }
    return nil
  }

  private func socketOption(_ fd: Int32, _ option: Int32) -> Int {
    var value: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    getsockopt(fd, SOL_SOCKET, option, &value, &length)
    return Int(value)
  }
}

/// Hands a non-Sendable object to exactly one other thread.
struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}

/// A packet whose first 4 bytes are its sequence number and the rest derive from it.
func sequencedPacket(_ sequence: Int, bytes: Int) -> [UInt8] {
  let prefix = withUnsafeBytes(of: UInt32(sequence).bigEndian) { Array($0) }
  return prefix + numberedPacket(sequence, bytes: bytes - 4)
}

/// The sequence number of an intact `sequencedPacket`, nil when damaged.
func sequenceNumber(of packet: [UInt8], bytes: Int) -> Int? {
  guard packet.count == bytes else { return nil }
  let sequence = Int(packet[0]) << 24 | Int(packet[1]) << 16 | Int(packet[2]) << 8 | Int(packet[3])
  return packet == sequencedPacket(sequence, bytes: bytes) ? sequence : nil
}

/// Reads `count` sequenced packets on its own thread (the client blocks),
/// noting when each arrived; stops at the first damaged or reordered one.
final class SequencedReader: @unchecked Sendable {
  private let state = LockedBox<(arrivals: [Double], problem: String?, running: Bool)>(([], nil, true))
  private let done = DispatchSemaphore(value: 0)

  static func now() -> Double { ProcessInfo.processInfo.systemUptime }

  init(_ client: DERPClient, count: Int, packetBytes: Int) {
    let box = UncheckedSendable(client)
    Thread { [state, done] in
      var expected = 0
      while expected < count {
        guard let got = try? box.value.receivePacket(timeoutSeconds: 5) else {
          state.mutate { $0.problem = "nothing for 5 s after \(expected) packets" }
          break
        }
        guard let sequence = sequenceNumber(of: got.packet, bytes: packetBytes), sequence == expected else {
          state.mutate { $0.problem = "packet \(expected) damaged or out of order" }
          break
        }
        let at = SequencedReader.now()
        state.mutate { $0.arrivals.append(at) }
        expected += 1
      }
      state.mutate { $0.running = false }
      done.signal()
    }.start()
  }

  var arrivals: [Double] { state.value.arrivals }
  var received: Int { state.value.arrivals.count }
  var problem: String? { state.value.problem }
  var isRunning: Bool { state.value.running }
  func wait(seconds: Double) -> Bool { done.wait(timeout: .now() + seconds) == .success }
}

final class LockedBox<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: Value
  init(_ value: Value) { stored = value }
  var value: Value {
    get { lock.lock(); defer { lock.unlock() }; return stored }
    set { lock.lock(); stored = newValue; lock.unlock() }
  }
  /// Read-modify-write under the lock (`value.append` through the setter is not atomic).
  func mutate(_ body: (inout Value) -> Void) {
    lock.lock()
    body(&stored)
    lock.unlock()
  }
}
