// The relay's own record layer (Worker+TLSRecords) end to end: AES-GCM
// connections move onto it after the handshake and DERP flows both ways over
// TLS 1.2 and 1.3; records cut into pieces across receives are reassembled;
// TLS 1.3 KeyUpdates from a client are followed and answered mid-stream;
// ChaCha20 connections stay on OpenSSL's records. (Bad records after the
// handshake are RelayTLSTests' afterHandshake cases, which now meet this path.)
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest

@testable import HDRelay
@testable import HDTLS

final class RelayTLSRecordLayerTests: XCTestCase {
  private var relay: Relay!
  private var port: UInt16 = 0

  override func setUpWithError() throws {
    _ = try TLSFixtures.context()
    let keys = DERPKeyPair.generate()
    let config = Config(port: 0, bind: ["127.0.0.1"], tlsCert: TLSFixtures.certPath, tlsKey: TLSFixtures.keyPath, ktls: .off)
    let tls = try RelayTLS(certificatePath: TLSFixtures.certPath, keyPath: TLSFixtures.keyPath, ktls: .off, serverKey: keys.publicKey)
    relay = try Relay(options: RelayOptions(config: config, serverKeyPair: keys, workerCount: 1, tls: tls))
    try relay.start()
    port = UInt16(relay.boundPorts[0])
  }

  override func tearDown() {
    relay?.stop(graceSeconds: 0)
    relay = nil
  }

  private var tlsStats: TLSStatsSnapshot { relay.statsSnapshot().tls }

  private func client(_ tls: TLSClientOptions, port: UInt16? = nil) throws -> DERPClient {
    try DERPClient.connectTLS(host: "127.0.0.1", port: port ?? self.port, tls: tls)
  }

  private func exchange(_ a: DERPClient, _ b: DERPClient, sizes: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
    for size in sizes {
      for (from, to) in [(a, b), (b, a)] {
        let packet = pattern(size, seed: UInt8(truncatingIfNeeded: size &+ 1))
        try from.send(to: to.publicKey, packet: packet)
        let frame = try to.receive(until: { if case .recvPacket = $0 { return true } else { return false } }, timeoutSeconds: 10)
        XCTAssertEqual(frame, .recvPacket(source: from.publicKey, packet: packet), "size \(size)", file: file, line: line)
      }
    }
  }

  func testAESGCMConnectionsMoveOntoTheWorkersRecordLayer() throws {
    let a = try client(TLSClientOptions(version: .tls13, tls13CipherSuites: "TLS_AES_256_GCM_SHA384"))
    let b = try client(TLSClientOptions(version: .tls12))
    try exchange(a, b, sizes: [0, 1, 1_400, 16_383, 16_384, 16_385, 65_536])
    XCTAssertEqual(tlsStats.recordLayerSwitches, 2)
    XCTAssertEqual(tlsStats.recordLayerFallbacks, 0)
    XCTAssertEqual(tlsStats.userspaceRecordErrors, 0)
  }

  func testChaCha20StaysOnOpenSSLsRecordLayer() throws {
    let a = try client(TLSClientOptions(version: .tls13, tls13CipherSuites: "TLS_CHACHA20_POLY1305_SHA256"))
    let b = try client(TLSClientOptions(version: .tls13))
    try exchange(a, b, sizes: [1_400, 65_536])
    XCTAssertEqual(tlsStats.recordLayerSwitches, 1, "only the AES-GCM one")
  }

  private func packet(_ client: DERPClient) throws -> [UInt8] {
    let frame = try client.receive(until: { if case .recvPacket = $0 { return true } else { return false } }, timeoutSeconds: 10)
    guard case .recvPacket(_, let packet) = frame else { return [] }
    return packet
  }

  /// Frames opened in place in the receive buffer leave from it (issue 15);
  /// frames OpenSSL decrypted into its scratch are copied.
  func testRecordLayerFramesLeaveFromTheReceiveBufferAndOpenSSLsAreCopied() throws {
    let chacha = try client(TLSClientOptions(version: .tls13, tls13CipherSuites: "TLS_CHACHA20_POLY1305_SHA256"))
    let aes = try client(TLSClientOptions(version: .tls13))
    for i in 0..<50 { try chacha.send(to: aes.publicKey, packet: pattern(1_400, seed: UInt8(i))) }
    for i in 0..<50 { XCTAssertEqual(try packet(aes), pattern(1_400, seed: UInt8(i))) }
    XCTAssertEqual(relay.statsSnapshot().packetsSentInPlace, 0, "OpenSSL's plaintext is in its scratch, never sent in place")
    for i in 0..<50 { try aes.send(to: chacha.publicKey, packet: pattern(1_400, seed: UInt8(i))) }
    for i in 0..<50 { XCTAssertEqual(try packet(chacha), pattern(1_400, seed: UInt8(i))) }
    XCTAssertGreaterThan(relay.statsSnapshot().packetsSentInPlace, 0, "records opened in place")
  }

  /// A client asks for a KeyUpdate three times mid-stream: the relay follows
  /// each new client key and answers with its own, and traffic flows on.
  func testKeyUpdatesMidStreamAreFollowedAndAnswered() throws {
    let a = try client(TLSClientOptions(version: .tls13))
    let b = try client(TLSClientOptions(version: .tls13))
    let stream = try XCTUnwrap((a.transport as? TLSTransport)?.stream)
    for round in 1...3 {
      try stream.requestKeyUpdate(askPeer: true)
      try exchange(a, b, sizes: [1_400, 20_000])
      XCTAssertEqual(tlsStats.keyUpdatesReceived, UInt64(round))
      XCTAssertEqual(tlsStats.keyUpdatesSent, UInt64(round))
    }
    try (b.transport as? TLSTransport)?.stream.requestKeyUpdate(askPeer: false)
    try exchange(b, a, sizes: [1_400])
    XCTAssertEqual(tlsStats.keyUpdatesReceived, 4)
    XCTAssertEqual(tlsStats.keyUpdatesSent, 3, "not asked for")
    XCTAssertEqual(tlsStats.userspaceRecordErrors, 0)
  }

  /// Through a proxy that forwards the client's bytes in pieces of 1-100
  /// bytes, so records (and their headers) end in the middle of receives.
  func testRecordsCutAcrossReceivesAreReassembled() throws {
    let proxy = try ChunkingProxy(target: port)
    defer { proxy.stop() }
    let a = try client(TLSClientOptions(version: .tls13), port: proxy.port)
    let b = try client(TLSClientOptions(version: .tls12), port: proxy.port)
    try exchange(a, b, sizes: [0, 1, 1_400, 16_385, 65_536])
    XCTAssertEqual(tlsStats.recordLayerSwitches, 2)
    XCTAssertEqual(tlsStats.userspaceRecordErrors, 0)
  }
}

/// Forwards loopback connections to `target`; the client's bytes go on in
/// small pieces, each its own send with TCP_NODELAY and a pause between.
final class ChunkingProxy: @unchecked Sendable {
  let port: UInt16
  private let listener: Int32
  private let target: UInt16
  private let lock = NSLock()
  private var sockets: [Int32] = []

  init(target: UInt16) throws {
    self.target = target
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    listen(fd, 16)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    listener = fd
    port = UInt16(bigEndian: address.sin_port)
    Thread.detachNewThread { [self] in acceptLoop() }
  }

  func stop() {
    shutdown(listener, Int32(SHUT_RDWR))
    close(listener)
    lock.lock()
    for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    lock.unlock()
  }

  private func acceptLoop() {
    while true {
      let client = accept(listener, nil, nil)
      guard client >= 0 else { return }
      guard let server = try? TCPConnector.connect(host: "127.0.0.1", port: target) else { close(client); continue }
      var on: Int32 = 1
      setsockopt(server, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
      lock.lock()
      sockets += [client, server]
      lock.unlock()
      Thread.detachNewThread { Self.pump(from: client, to: server, pieces: [1, 3, 7, 2, 5, 100, 4, 11]) }
      Thread.detachNewThread { Self.pump(from: server, to: client, pieces: [65_536]) }
    }
  }

  private static func pump(from: Int32, to: Int32, pieces: [Int]) {
    var buffer = [UInt8](repeating: 0, count: 65_536)
    var next = 0
    while true {
      let n = recv(from, &buffer, buffer.count, 0)
      guard n > 0 else { break }
      var offset = 0
      while offset < n {
        let piece = min(pieces[next % pieces.count], n - offset)
        next += 1
        let sent = buffer.withUnsafeBytes { send(to, $0.baseAddress! + offset, piece, Int32(MSG_NOSIGNAL)) }
        guard sent > 0 else { return }
        offset += sent
        if pieces.count > 1 { usleep(20) }
      }
    }
    shutdown(to, Int32(SHUT_WR))
  }
}
