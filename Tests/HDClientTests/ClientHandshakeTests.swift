import HDProtocol
import XCTest
@testable import HDClient

/// The handshake state machine without sockets: a scripted server side built
/// from HDProtocol, fed to the machine in awkward chunk sizes.
final class ClientHandshakeTests: XCTestCase {
  func testByteByByteUpgradeAndLeftovers() throws {
    let server = DERPKeyPair.generate()
    let client = DERPKeyPair.generate()
    var machine = ClientHandshake(keys: client, options: ClientHandshakeOptions(hostHeader: "relay:443"))
    let request = machine.start()
    var parser = HTTPRequestParser()
    guard case .request(let req) = parser.parse(request) else { return XCTFail("client request does not parse") }
    XCTAssertEqual(req.headBytes, request.count, "no ClientInfo without fast start")
    let route = HTTPRouter.route(req, serverKey: server.publicKey)
    XCTAssertTrue(route.upgrade)

    let first = route.response + Handshake.serverKeyFrame(serverKey: server.publicKey)
    var sent: [UInt8]?
    for byte in first {
      switch machine.consume([byte]) {
      case .needMore: continue
      case .send(let bytes): sent = bytes
      case let other: return XCTFail("unexpected \(other)")
      }
    }
    let clientInfoFrame = try XCTUnwrap(sent)
    let (key, _) = try Handshake.openClientInfo(payload: Array(clientInfoFrame[5...]), serverPrivateKey: server.privateKey)
    XCTAssertEqual(key, client.publicKey)

    // A KeepAlive before ServerInfo and a packet frame after it: both must
    // survive as leftover, in order.
    let keepAlive: [UInt8] = [0x06, 0, 0, 0, 0]
    let after: [UInt8] = [0x05, 0, 0, 0, 33] + server.publicKey.bytes + [0x42]
    let rest = keepAlive + Handshake.sealServerInfoFrame(ServerInfo(), serverPrivateKey: server.privateKey, clientKey: key) + after
    XCTAssertEqual(machine.consume(Array(rest[0..<7])), .needMore)
    XCTAssertEqual(machine.consume(Array(rest[7...])), .registered(ServerInfo()))
    XCTAssertEqual(machine.leftover, keepAlive + after)
    XCTAssertEqual(machine.serverKey, server.publicKey)
  }

  func testGarbageInsteadOfServerKey() {
    var machine = ClientHandshake(keys: .generate(), options: ClientHandshakeOptions(hostHeader: "x"))
    _ = machine.start()
    let step = machine.consume(Array("HTTP/1.1 101 Switching Protocols\r\n\r\n".utf8) + [0x04, 0, 0, 0, 0])
    XCTAssertEqual(step, .failed(.handshake(.unexpectedFrame(type: 0x04))))
  }

  func testServerInfoSealedToSomeoneElseFails() throws {
    let server = DERPKeyPair.generate()
    let key = server.publicKey
    var machine = ClientHandshake(keys: .generate(), options: ClientHandshakeOptions(hostHeader: "x", fastStartServerKey: key))
    let start = machine.start()
    XCTAssertGreaterThan(start.count, 100, "fast start carries ClientInfo")
    let wrong = Handshake.sealServerInfoFrame(ServerInfo(), serverPrivateKey: server.privateKey, clientKey: DERPKeyPair.generate().publicKey)
    XCTAssertEqual(machine.consume(Handshake.serverKeyFrame(serverKey: key) + wrong), .failed(.handshake(.boxOpenFailed)))
  }
}
