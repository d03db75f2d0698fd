// The server side of the regional mesh (spec §4.4): a client presenting the
// relay's mesh key may watch connections, close peers and forward packets;
// everyone else is closed for trying. Two workers, so watcher, peers and
// duplicates sit on different workers.
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest
@testable import HDRelay

final class RelayMeshTests: XCTestCase {
  private let meshKey = DERPKey(hex: String(repeating: "5a", count: 32))!

  private func meshHarness() throws -> RelayHarness {
    try RelayHarness(workers: 2, adjust: { [meshKey] in $0.meshKey = meshKey })
  }

  private func connectMesh(_ harness: RelayHarness, key: DERPKey? = nil, keys: DERPKeyPair = .generate()) throws
    -> DERPClient
  {
    try harness.connect(keys: keys) { [meshKey] in $0.clientInfo = ClientInfo(meshKey: key ?? meshKey) }
  }

  /// Reads PeerPresent / PeerGone frames until `count` have arrived (other frames skipped).
  private func watchFrames(_ watcher: DERPClient, count: Int) throws -> [ReceivedFrame] {
    var frames: [ReceivedFrame] = []
    while frames.count < count {
      let frame = try watcher.receive(
        until: {
          switch $0 {
          case .peerPresent, .peerGone: return true
          default: return false
          }
        }, timeoutSeconds: 5)
      frames.append(frame)
    }
    return frames
  }

  private func present(_ frames: [ReceivedFrame]) -> [DERPKey: (PeerAddress?, PeerPresentFlags?)] {
    var seen: [DERPKey: (PeerAddress?, PeerPresentFlags?)] = [:]
    for case .peerPresent(let key, let address, let flags) in frames { seen[key] = (address, flags) }
    return seen
  }

  func testWatchConnsListsEveryPeerThenStreamsArrivalsAndLastDepartures() throws {
    let harness = try meshHarness()
    let a = try harness.connect()
    let b = try harness.connect()
    let watcher = try connectMesh(harness)
    try watcher.watchConns()

    // Everyone connected now, the watcher included, with ip:port and flags (51-byte payloads).
    let initial = present(try watchFrames(watcher, count: 3))
    XCTAssertEqual(Set(initial.keys), [a.publicKey, b.publicKey, watcher.publicKey])
    for client in [a, b, watcher] {
      let (address, flags) = try XCTUnwrap(initial[client.publicKey])
      XCTAssertEqual(address, PeerAddress(ipv4: 127, 0, 0, 1, port: try localPort(of: client)))
      XCTAssertEqual(flags, client === watcher ? .isMeshPeer : .isRegular)
    }
    XCTAssertEqual(harness.relay.statsSnapshot().watchers, 1)

    // A new key, then a second connection of it: PeerPresent each time (derper).
    let keys = DERPKeyPair.generate()
    let c1 = try harness.connect(keys: keys)
    let c2 = try harness.connect(keys: keys)
    let arrivals = try watchFrames(watcher, count: 2)
    XCTAssertEqual(arrivals.count, 2)
    for frame in arrivals {
      guard case .peerPresent(let key, _, let flags) = frame else { return XCTFail("expected PeerPresent, got \(frame)") }
      XCTAssertEqual(key, keys.publicKey)
      XCTAssertEqual(flags, .isRegular)
    }
    // PeerGone only when the key's last connection leaves.
    c1.close()
    try watcher.barrier()
    Thread.sleep(forTimeInterval: 0.2)
    c2.close()
    XCTAssertEqual(try watchFrames(watcher, count: 1).first, .peerGone(keys.publicKey, reason: 0))
    b.close()
    XCTAssertEqual(try watchFrames(watcher, count: 1).first, .peerGone(b.publicKey, reason: 0))

    watcher.close()
    let deadline = Date().addingTimeInterval(5)
    while harness.relay.statsSnapshot().watchers != 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    XCTAssertEqual(harness.relay.statsSnapshot().watchers, 0)
  }

  /// More peers than one block of PeerPresent frames (512) and than the
  /// control queue holds: the flood arrives whole, once per key.
  func testWatchConnsFloodOfManyPeersArrivesWhole() throws {
    let harness = try meshHarness()
    var clients: [DERPClient] = []
    for _ in 0..<700 { clients.append(try harness.connect()) }
    let watcher = try connectMesh(harness)
    try watcher.watchConns()
    let seen = present(try watchFrames(watcher, count: 701))
    XCTAssertEqual(Set(seen.keys), Set(clients.map(\.publicKey) + [watcher.publicKey]))
    try watcher.barrier()
  }

  func testForwardPacketIsDeliveredWithTheSourceItNames() throws {
    let harness = try meshHarness()
    let receivers = try (0..<4).map { _ in try harness.connect() }
    let mesh = try connectMesh(harness)
    let forged = DERPKeyPair.generate().publicKey
    for (i, r) in receivers.enumerated() {
      try mesh.forwardPacket(source: forged, destination: r.publicKey, packet: numberedPacket(i, bytes: 100 + i))
    }
    for (i, r) in receivers.enumerated() {
      XCTAssertEqual(try r.receive(timeoutSeconds: 5), .recvPacket(source: forged, packet: numberedPacket(i, bytes: 100 + i)))
    }
    // Sizes up to the maximum, and an unknown destination is dropped without harm.
    try mesh.forwardPacket(source: forged, destination: DERPKeyPair.generate().publicKey, packet: [1, 2, 3])
    let big = numberedPacket(9, bytes: DERPConstants.maxPacketBytes)
    try mesh.forwardPacket(source: forged, destination: receivers[0].publicKey, packet: big)
    XCTAssertEqual(try receivers[0].receive(timeoutSeconds: 5), .recvPacket(source: forged, packet: big))
    try mesh.barrier()
    XCTAssertEqual(harness.relay.statsSnapshot().dropped(.unknownDest), 1)
  }

  func testClosePeerClosesEveryConnectionOfTheKeyOnEveryWorker() throws {
    let harness = try meshHarness()
    let victimKeys = DERPKeyPair.generate()
    let victims = try (0..<4).map { _ in try harness.connect(keys: victimKeys) }
    let workers = Set(harness.relay.peersSnapshot().filter { $0.key == victimKeys.publicKey }.map(\.worker))
    let bystander = try harness.connect()
    let mesh = try connectMesh(harness)
    try mesh.closePeer(victimKeys.publicKey)
    for (i, v) in victims.enumerated() { XCTAssertTrue(v.isClosedByServer(), "connection \(i) of the key") }
    XCTAssertNoThrow(try bystander.barrier())
    XCTAssertNoThrow(try mesh.barrier())
    if workers.count < 2 { print("note: the kernel put every victim connection on one worker this run") }
  }

  func testWrongMeshKeyMakesAnOrdinaryClient() throws {
    let harness = try meshHarness()
    let impostor = try connectMesh(harness, key: DERPKey(hex: String(repeating: "5b", count: 32))!)
    let victim = try harness.connect()
    try impostor.closePeer(victim.publicKey)
    XCTAssertTrue(impostor.isClosedByServer(), "ClosePeer without the right key closes the sender")
    XCTAssertNoThrow(try victim.barrier())

    let watcher = try connectMesh(harness, key: DERPKey(hex: String(repeating: "5b", count: 32))!)
    try watcher.watchConns()
    XCTAssertTrue(watcher.isClosedByServer(), "WatchConns without the right key")
    XCTAssertEqual(harness.relay.statsSnapshot().watchers, 0)
  }

  /// A mesh peer is not held back by peer_rate_limit (derper exempts it).
  func testMeshPeerIsExemptFromThePeerRateLimit() throws {
    let harness = try RelayHarness(workers: 1, { $0.peerRateLimitBytesPerSecond = 10_000 },
                                   adjust: { [meshKey] in $0.meshKey = meshKey })
    let receiver = try harness.connect()
    let mesh = try connectMesh(harness)
    let forged = DERPKeyPair.generate().publicKey
    // 2 MB would take 200 s at the limit; unlimited it is a blink.
    for i in 0..<200 { try mesh.forwardPacket(source: forged, destination: receiver.publicKey, packet: numberedPacket(i, bytes: 10_000)) }
    for i in 0..<200 {
      XCTAssertEqual(try receiver.receive(timeoutSeconds: 10), .recvPacket(source: forged, packet: numberedPacket(i, bytes: 10_000)))
    }
    XCTAssertEqual(harness.relay.statsSnapshot().rateLimitPauses, 0)
  }

  func testMeshKeyFileLoadsHexAndRefusesAnythingElse() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hd-mesh-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let good = directory.appendingPathComponent("good").path
    try ("  " + String(repeating: "5a", count: 32) + "\n").write(toFile: good, atomically: true, encoding: .utf8)
    XCTAssertEqual(try MeshKeyFile.load(path: good), meshKey)
    let short = directory.appendingPathComponent("short").path
    try "abcd\n".write(toFile: short, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try MeshKeyFile.load(path: short)) { error in
      XCTAssertTrue("\(error)".contains("64 hex characters"), "\(error)")
      XCTAssertTrue("\(error)".contains("openssl rand -hex 32"), "\(error)")
    }
    XCTAssertThrowsError(try MeshKeyFile.load(path: directory.appendingPathComponent("missing").path)) { error in
      XCTAssertTrue("\(error)".contains("cannot read"), "\(error)")
    }
  }

}
