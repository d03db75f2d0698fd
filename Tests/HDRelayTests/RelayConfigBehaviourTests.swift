// Settings that must really take effect: pin_cores, sockbuf, max_accept_rate,
// peer_rate_limit. Each is checked on the running relay, not on its options.
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest
@testable import HDRelay

final class RelayConfigBehaviourTests: XCTestCase {
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

  /// The relay reads a limited peer at about the limit (it pauses reading, so
  /// TCP pushes back on the sender) and never cuts a frame: what arrives is
  /// whole and in order. The read rate is taken from the relay's own byte
  /// counter in a window where the sender has far more queued than the limit.
  func testPeerRateLimitSlowsTheSenderWithoutDamagingFrames() throws {
    let limit = 500_000
    let harness = try RelayHarness(workers: 2) { $0.peerRateLimitBytesPerSecond = Int64(limit) }
    let sender = try harness.connect()
    let receiver = try harness.connect()
    let packetBytes = 1000
    let count = 2000  // 2 MB: about 4 s at the limit
    let sendFailure = LockedBox<String?>(nil)
    // Both ends block, so each runs on its own thread.
    let senderBox = UncheckedSendable(sender)
    let destination = receiver.publicKey
    Thread {
      do {
        for i in 0..<count { try senderBox.value.send(to: destination, packet: sequencedPacket(i, bytes: packetBytes)) }
      } catch {
        sendFailure.value = "\(error)"
      }
    }.start()
    let receiverBox = UncheckedSendable(receiver)
    let report = LockedBox<(received: Int, last: Int, problem: String?)>((0, -1, nil))
    let done = DispatchSemaphore(value: 0)
    Thread {
      while report.value.last < count - 1 {
        guard let got = try? receiverBox.value.receivePacket(timeoutSeconds: 2) else { break }
        guard let sequence = sequenceNumber(of: got.packet, bytes: packetBytes) else {
          report.value.problem = "damaged frame after \(report.value.last)"
          break
        }
        guard sequence > report.value.last else {
          report.value.problem = "packet \(sequence) after \(report.value.last)"
          break
        }
        report.value = (report.value.received + 1, sequence, nil)
      }
      done.signal()
    }.start()

    let started = Date()
    func bytesReadAfter(_ seconds: Double) -> UInt64 {
      Thread.sleep(until: started.addingTimeInterval(seconds))
      return harness.relay.statsSnapshot().bytesReceived
    }
    let early = bytesReadAfter(1.0)
    let late = bytesReadAfter(2.5)
    let rate = Double(late - early) / 1.5
    let context = "read \(early) B by 1.0 s, \(late) B by 2.5 s (limit \(limit) B/s, \(count * packetBytes) B sent)"
    XCTAssertLessThan(rate, 1.5 * Double(limit), context)
    XCTAssertGreaterThan(rate, 0.5 * Double(limit), "far below the limit: " + context)

    XCTAssertEqual(done.wait(timeout: .now() + 15), .success)
    XCTAssertNil(report.value.problem)
    XCTAssertGreaterThan(report.value.received, 0)
    XCTAssertNil(sendFailure.value)
  }

  // MARK: Helpers

  private func localPort(of client: DERPClient) throws -> UInt16 {
    let fd = try XCTUnwrap((client.transport as? PlainTransport)?.fileDescriptor)
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
  }

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
