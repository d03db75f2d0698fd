// docs/queueing.md over userspace TLS: a receiver that reads slowly gets every
// packet because the relay pauses its sender instead of dropping. A TLS
// destination used to stay "congested" after it drained (only the plain send
// completion cleared the flag), so its sender was only released once the
// destination looked stalled, 500 ms after it had drained (issue 15).
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest

@testable import HDRelay
@testable import HDTLS

/// Hands a value to one other thread (the test waits for it before reading).
private final class Handoff<T>: @unchecked Sendable {
  var value: T
  init(_ value: T) { self.value = value }
}

final class TLSBackpressureTests: XCTestCase {
  func testSlowTLSReceiverGetsEveryPacketInOrderThroughBackpressure() throws {
    _ = try TLSFixtures.context()  // makes the certificate, ignores SIGPIPE
    let serverKeys = DERPKeyPair.generate()
    var config = Config(port: 0, bind: ["127.0.0.1"], tlsCert: TLSFixtures.certPath, tlsKey: TLSFixtures.keyPath, ktls: .off)
    config.sockbufBytes = 32 * 1024  // small socket buffers: the relay's queue fills, not the kernel's
    let relayTLS = try RelayTLS(certificatePath: TLSFixtures.certPath, keyPath: TLSFixtures.keyPath, ktls: .off,
                                serverKey: serverKeys.publicKey)
    let relay = try Relay(options: RelayOptions(config: config, serverKeyPair: serverKeys, workerCount: 1, tls: relayTLS))
    try relay.start()
    defer { relay.stop(graceSeconds: 0) }
    let port = UInt16(relay.boundPorts[0])
    let sender = try DERPClient.connectTLS(host: "127.0.0.1", port: port)
    let receiver = Handoff(try DERPClient.connectTLS(host: "127.0.0.1", port: port))
    let receiverKey = receiver.value.publicKey

    let count = 3000
    let result = Handoff<(received: Int, firstMismatch: Int?)>((0, nil))
    let finished = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      defer { finished.signal() }
      // A late start (well under the 500 ms that would mark it stalled) so
      // the relay's queue fills and the sender is paused however fast this
      // reader turns out to be on a loaded host.
      Thread.sleep(forTimeInterval: 0.2)
      for i in 0..<count {
        guard let frame = try? receiver.value.receive(
          until: { if case .recvPacket = $0 { return true } else { return false } }, timeoutSeconds: 10),
          case .recvPacket(_, let packet) = frame
        else { return }
        if packet != Self.numbered(i) && result.value.firstMismatch == nil { result.value.firstMismatch = i }
        result.value.received += 1
        // Much slower than the sender, in naps well under the 500 ms that
        // would mark the receiver stalled.
        if i % 100 == 0 { Thread.sleep(forTimeInterval: 0.02) }
      }
    }
    for i in 0..<count {
      try sender.send(to: receiverKey, packet: Self.numbered(i))
    }
    XCTAssertEqual(finished.wait(timeout: .now() + 60), .success)
    XCTAssertEqual(result.value.received, count, "every packet arrived")
    XCTAssertNil(result.value.firstMismatch, "in order and intact")
    let stats = relay.statsSnapshot()
    XCTAssertEqual(stats.dropped(.queueHead) + stats.dropped(.queueTail), 0, "nothing dropped")
    XCTAssertGreaterThan(stats.backpressurePauses, 0, "the sender was paused, not the packets dropped")
    XCTAssertEqual(stats.backpressureStallReleases, 0,
                   "a receiver that keeps reading drains its queue: its sender is released for that, never as stalled")
  }

  /// 1400 bytes carrying their sequence number, so order and integrity show.
  private static func numbered(_ sequence: Int) -> [UInt8] {
    var bytes = pattern(1400, seed: UInt8(truncatingIfNeeded: sequence))
    withUnsafeBytes(of: UInt32(sequence).bigEndian) { for (i, b) in $0.enumerated() { bytes[i] = b } }
    return bytes
  }
}
