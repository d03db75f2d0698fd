import Glibc
import HDProtocol
import XCTest
@testable import HDClient

final class DERPClientTests: XCTestCase {
  func testHandshakeRegistersAndServerSeesClientInfo() throws {
    let server = FakeDERPServer { conn in
      conn.acceptHandshake()
      conn.echoUntilClosed()
    }
    var options = DERPClientOptions()
    options.clientInfo = ClientInfo(appName: "client-test")
    let client = try DERPClient.connect(host: "127.0.0.1", port: server.port, options: options)
    XCTAssertEqual(client.serverKey, server.keys.publicKey)
    XCTAssertEqual(client.serverInfo, ServerInfo(version: 2))
    client.close()
    server.join()
    let conn = try XCTUnwrap(server.connection)
    XCTAssertEqual(conn.clientKey, client.publicKey)
    XCTAssertEqual(conn.clientInfo?.appName, "client-test")
    XCTAssertEqual(conn.request?.header("Upgrade"), "DERP")
    XCTAssertEqual(conn.request?.header("Host"), "127.0.0.1:\(server.port)")
    XCTAssertNil(conn.request?.header("Derp-Fast-Start"))
  }

  func testSendReceiveSizesAndPing() throws {
    let server = FakeDERPServer { conn in
      conn.acceptHandshake()
      conn.echoUntilClosed()
    }
    let client = try DERPClient.connect(host: "127.0.0.1", port: server.port)
    for size in [0, 1, 100, 1200, 65_536] {
      let packet = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
      try client.send(to: client.publicKey, packet: packet)
      XCTAssertEqual(try client.receive(), .recvPacket(source: client.publicKey, packet: packet), "size \(size)")
    }
    let rtt = try client.ping()
    XCTAssertGreaterThan(rtt, 0)
    client.close()
    server.join()
  }

  func testFastStartSendsClientInfoWithoutWaitingFor101() throws {
    let server = FakeDERPServer { conn in
      conn.acceptHandshake()
      conn.echoUntilClosed()
    }
    var options = DERPClientOptions()
    options.fastStartServerKey = server.keys.publicKey
    let client = try DERPClient.connect(host: "127.0.0.1", port: server.port, options: options)
    XCTAssertEqual(client.serverInfo?.version, 2)
    try client.send(to: client.publicKey, packet: [1, 2, 3])
    XCTAssertEqual(try client.receive(), .recvPacket(source: client.publicKey, packet: [1, 2, 3]))
    client.close()
    server.join()
    XCTAssertEqual(server.connection?.request?.header("derp-fast-start"), "1")
  }

  func testFastStartWithWrongKeyFails() {
    let server = FakeDERPServer { conn in conn.acceptHandshake() }
    var options = DERPClientOptions()
    options.fastStartServerKey = DERPKeyPair.generate().publicKey
    XCTAssertThrowsError(try DERPClient.connect(host: "127.0.0.1", port: server.port, options: options)) {
      guard case .protocolViolation? = $0 as? DERPClientError else { return XCTFail("\($0)") }
    }
    server.join()
  }

  func testUpgradeRefused() {
    let server = FakeDERPServer { conn in conn.acceptHandshake() }
    var options = DERPClientOptions()
    options.upgradeHeader = "h2c"
    XCTAssertThrowsError(try DERPClient.connect(host: "127.0.0.1", port: server.port, options: options)) {
      XCTAssertEqual($0 as? DERPClientError, .upgradeRefused(statusLine: "HTTP/1.1 426 Upgrade Required"))
    }
    server.join()
  }

  func testIPv6Loopback() throws {
    let server = FakeDERPServer(ipv6: true) { conn in
      conn.acceptHandshake()
      conn.echoUntilClosed()
    }
    let client = try DERPClient.connect(host: "::1", port: server.port)
    try client.send(to: client.publicKey, packet: [9])
    XCTAssertEqual(try client.receive(), .recvPacket(source: client.publicKey, packet: [9]))
    client.close()
    server.join()
    XCTAssertEqual(server.connection?.request?.header("Host"), "[::1]:\(server.port)")
  }

  func testDecodesEveryServerFrameTypeBatchedAndSplit() throws {
    let peer = DERPKeyPair.generate().publicKey
    let server = FakeDERPServer { conn in
      guard conn.acceptHandshake() else { return }
      var out = [UInt8](repeating: 0, count: 512)
      var n = 0
      out.withUnsafeMutableBytes { p in
        let b = p.baseAddress!
        n += FrameWriter.peerGone(peer, reason: .notHere, to: b + n)
        n += FrameWriter.peerPresent(peer, address: PeerAddress(ipv4: 10, 1, 2, 3, port: 4242), flags: [.isMeshPeer], to: b + n)
        n += FrameWriter.keepAlive(to: b + n)
        n += FrameWriter.ping(payload: 0x0807_0605_0403_0201, to: b + n)
        n += FrameWriter.restarting(reconnectInMilliseconds: 1000, tryForMilliseconds: 30_000, to: b + n)
        n += FrameWriter.recvPacketHeader(source: peer, packetBytes: 3, to: b + n)
        b.storeBytes(of: (UInt8(7), UInt8(8), UInt8(9)), toByteOffset: n, as: (UInt8, UInt8, UInt8).self)
        n += 3
      }
      // All of these in one write (the client must split them), then frames
      // split across writes with a pause between.
      conn.write(Array(out[0..<n]))
      let health = [UInt8](arrayLiteral: 0x14, 0, 0, 0, 4) + Array("sick".utf8)
      conn.write(Array(health[0..<3]))
      usleep(20_000)
      conn.write(Array(health[3...]))
      conn.write([0x0c, 0, 0, 0, 2, 0xaa, 0xbb])  // unknown type in the 0x0b–0x0f gap
      conn.write([0x08, 0, 0, 0, 32] + peer.bytes)  // old-style PeerGone without reason
      conn.write([0x09, 0, 0, 0, 32] + peer.bytes)  // short PeerPresent
      _ = conn.readFrame()
    }
    let client = try DERPClient.connect(host: "127.0.0.1", port: server.port)
    XCTAssertEqual(try client.receive(), .peerGone(peer, reason: 1))
    XCTAssertEqual(try client.receive(), .peerPresent(peer, address: PeerAddress(ipv4: 10, 1, 2, 3, port: 4242), flags: [.isMeshPeer]))
    XCTAssertEqual(try client.receive(), .keepAlive)
    XCTAssertEqual(try client.receive(), .ping([1, 2, 3, 4, 5, 6, 7, 8]))
    XCTAssertEqual(try client.receive(), .restarting(reconnectInMilliseconds: 1000, tryForMilliseconds: 30_000))
    XCTAssertEqual(try client.receive(), .recvPacket(source: peer, packet: [7, 8, 9]))
    XCTAssertEqual(try client.receive(), .health("sick"))
    XCTAssertEqual(try client.receive(), .unknown(type: 0x0c, payload: [0xaa, 0xbb]))
    XCTAssertEqual(try client.receive(), .peerGone(peer, reason: 0))
    XCTAssertEqual(try client.receive(), .peerPresent(peer, address: nil, flags: nil))
    try client.notePreferred(true)
    client.close()
    server.join()
  }

  func testReadTimeoutAndClose() throws {
    let server = FakeDERPServer { conn in
      guard conn.acceptHandshake() else { return }
      _ = conn.readFrame()  // waits for the client's NotePreferred, then closes
    }
    let client = try DERPClient.connect(host: "127.0.0.1", port: server.port)
    XCTAssertThrowsError(try client.receive(timeoutSeconds: 0.05)) { XCTAssertEqual($0 as? DERPClientError, .timedOut) }
    try client.notePreferred(true)
    XCTAssertThrowsError(try client.receive(timeoutSeconds: 5)) { XCTAssertEqual($0 as? DERPClientError, .closed) }
    server.join()
  }

  func testOversizedFrameIsAProtocolViolation() throws {
    let server = FakeDERPServer { conn in
      guard conn.acceptHandshake() else { return }
      conn.write([0x05, 0x00, 0x20, 0x00, 0x00])  // claims 2 MiB
      _ = conn.readFrame()
    }
    let client = try DERPClient.connect(host: "127.0.0.1", port: server.port)
    XCTAssertThrowsError(try client.receive()) {
      guard case .protocolViolation? = $0 as? DERPClientError else { return XCTFail("\($0)") }
    }
    client.close()
    server.join()
  }

  func testConnectRefusedAndUnresolvable() {
    // Bind a port, then close it, so nothing listens there.
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    _ = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    let port = UInt16(bigEndian: sin.sin_port)
    close(fd)
    XCTAssertThrowsError(try DERPClient.connect(host: "127.0.0.1", port: port)) {
      XCTAssertEqual($0 as? DERPClientError, .connectFailed(address: "127.0.0.1:\(port)", errno: ECONNREFUSED))
    }
    XCTAssertThrowsError(try DERPClient.connect(host: "no-such-host.invalid", port: 1)) {
      guard case .resolveFailed? = $0 as? DERPClientError else { return XCTFail("\($0)") }
    }
  }
}
