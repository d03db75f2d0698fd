// The relay's own stall is not its peers' fault. A worker that did not run
// for a while (descheduled on a loaded host, SIGSTOP, a paused VM) wakes with
// completions stamped by its old tick; had the gap counted in full, every peer
// with a send in flight would be closed by the 2 s write timeout although it
// was reading all along (seen in a soak: 305 peers closed at once while
// another benchmark held both CPUs).
import Foundation
import HDClient
import HDProtocol
import XCTest

final class DaemonStallTests: XCTestCase {
  func testARelayStoppedLongerThanTheWriteTimeoutKeepsAReceiverThatReadAllAlong() throws {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let config = tree.write("hd.yaml", "port: \(port)\nbind: [\"127.0.0.1\"]\nworkers: 1\nsockbuf: 16384\n")
    let daemon = try DaemonProcess(arguments: ["--config", config])
    defer { daemon.signal(SIGCONT); daemon.signal(SIGTERM); _ = daemon.waitForExit(timeoutSeconds: 10) }
    var sender: DERPClient?
    try waitUntil("the relay accepts") {
      sender = try? DERPClient.connect(host: "127.0.0.1", port: port)
      return sender != nil
    }
    let receiver = try DERPClient.connect(host: "127.0.0.1", port: port)
    let receiverKey = receiver.publicKey

    // More than the sockets hold while the receiver does not read: the
    // relay's send to it is in flight, waiting for room.
    let packet = [UInt8](repeating: 0x42, count: 1400)
    for _ in 0..<600 { try sender!.send(to: receiverKey, packet: packet) }
    Thread.sleep(forTimeInterval: 0.2)

    // The relay stands still for 3 s (longer than the write timeout) while
    // the receiver drains everything the kernel holds for it.
    daemon.signal(SIGSTOP)
    let stoppedAt = Date()
    var drained = 0
    while Date().timeIntervalSince(stoppedAt) < 3 {
      if case .recvPacket? = try? receiver.receive(timeoutSeconds: 0.2) { drained += 1 }
    }
    daemon.signal(SIGCONT)
    XCTAssertGreaterThan(drained, 0, "the receiver read while the relay was stopped")

    // The receiver keeps reading; once the relay has run for longer than a
    // sweep, a marker from the sender must still reach it.
    let resumedAt = Date()
    while Date().timeIntervalSince(resumedAt) < 2.5 {
      _ = try? receiver.receive(timeoutSeconds: 0.2)
    }
    let marker: [UInt8] = [0x4D, 0x41, 0x52, 0x4B]
    try sender!.send(to: receiverKey, packet: marker)
    let arrived = try receiver.receive(until: { frame in
      if case .recvPacket(_, let bytes) = frame { return bytes == marker }
      return false
    }, timeoutSeconds: 10)
    XCTAssertEqual(arrived, .recvPacket(source: sender!.publicKey, packet: marker),
                   "the receiver's connection survived the relay's own stall; daemon log:\n\(daemon.stderr)")
  }
}
