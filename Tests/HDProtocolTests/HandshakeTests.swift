import XCTest
@testable import HDProtocol

final class HandshakeTests: XCTestCase {
  func testBoxRoundTripAndWireForm() {
    let alice = DERPKeyPair.generate()
    let bob = DERPKeyPair.generate()
    let message = Array("hello derp".utf8)
    let sealed = NaClBox.seal(message, to: bob.publicKey, from: alice.privateKey)
    XCTAssertEqual(sealed.count, 24 + 16 + message.count)
    let opened = sealed.withUnsafeBytes { NaClBox.open($0, from: alice.publicKey, to: bob.privateKey) }
    XCTAssertEqual(opened, message)
    // Two seals of the same message differ: the nonce is random.
    XCTAssertNotEqual(NaClBox.seal(message, to: bob.publicKey, from: alice.privateKey), sealed)
  }

  func testBoxRejectsTamperingWrongKeyAndShortInput() {
    let alice = DERPKeyPair.generate()
    let bob = DERPKeyPair.generate()
    var sealed = NaClBox.seal([1, 2, 3], to: bob.publicKey, from: alice.privateKey)
    let eve = DERPKeyPair.generate()
    XCTAssertNil(sealed.withUnsafeBytes { NaClBox.open($0, from: eve.publicKey, to: bob.privateKey) })
    sealed[sealed.count - 1] ^= 1
    XCTAssertNil(sealed.withUnsafeBytes { NaClBox.open($0, from: alice.publicKey, to: bob.privateKey) })
    XCTAssertNil([UInt8](repeating: 0, count: 39).withUnsafeBytes { NaClBox.open($0, from: alice.publicKey, to: bob.privateKey) })
  }

  func testEmptyMessageBox() {
    let alice = DERPKeyPair.generate()
    let bob = DERPKeyPair.generate()
    let sealed = NaClBox.seal([], to: bob.publicKey, from: alice.privateKey)
    XCTAssertEqual(sealed.count, 40)
    XCTAssertEqual(sealed.withUnsafeBytes { NaClBox.open($0, from: alice.publicKey, to: bob.privateKey) }, [])
  }

  func testSharedKeyInteroperatesWithFullBox() {
    let alice = DERPKeyPair.generate()
    let bob = DERPKeyPair.generate()
    let aliceShared = NaClBox.SharedKey(peer: bob.publicKey, own: alice.privateKey)
    let bobShared = NaClBox.SharedKey(peer: alice.publicKey, own: bob.privateKey)
    let message = Array("precomputed".utf8)
    var sealed = [UInt8](repeating: 0, count: message.count + NaClBox.overheadBytes)
    _ = sealed.withUnsafeMutableBytes { out in message.withUnsafeBytes { aliceShared.seal($0, into: out.baseAddress!) } }
    XCTAssertEqual(sealed.withUnsafeBytes { NaClBox.open($0, from: alice.publicKey, to: bob.privateKey) }, message)
    var plain = [UInt8](repeating: 0, count: message.count)
    let n = plain.withUnsafeMutableBytes { out in sealed.withUnsafeBytes { bobShared.open($0, into: out.baseAddress!) } }
    XCTAssertEqual(n, message.count)
    XCTAssertEqual(plain, message)
    sealed[30] ^= 0x40
    XCTAssertNil(plain.withUnsafeMutableBytes { out in sealed.withUnsafeBytes { bobShared.open($0, into: out.baseAddress!) } })
  }

  func testFullHandshakeRoundTrip() throws {
    let server = DERPKeyPair.generate()
    let client = DERPKeyPair.generate()
    let info = ClientInfo(meshKey: DERPKey(hex: String(repeating: "aa", count: 32)), version: 2, canAckPings: true,
                          isProber: true, appName: "hd-test")
    let frame = Handshake.sealClientInfoFrame(info, client: client, serverKey: server.publicKey)
    let header = frame.withUnsafeBytes { FrameHeader(decodingFrom: $0.baseAddress!) }
    XCTAssertEqual(header.type, .clientInfo)
    XCTAssertEqual(Int(header.payloadBytes), frame.count - 5)
    XCTAssertEqual(Array(frame[5..<37]), client.publicKey.bytes)

    let (clientKey, opened) = try Handshake.openClientInfo(payload: Array(frame[5...]), serverPrivateKey: server.privateKey)
    XCTAssertEqual(clientKey, client.publicKey)
    XCTAssertEqual(opened, info)

    let serverInfoFrame = Handshake.sealServerInfoFrame(ServerInfo(), serverPrivateKey: server.privateKey, clientKey: clientKey)
    XCTAssertEqual(serverInfoFrame[0], FrameType.serverInfo.rawValue)
    let serverInfo = try serverInfoFrame.withUnsafeBytes {
      try Handshake.openServerInfo(payload: UnsafeRawBufferPointer(rebasing: $0[5...]), clientPrivateKey: client.privateKey,
                                   serverKey: server.publicKey)
    }
    XCTAssertEqual(serverInfo, ServerInfo(version: 2))
  }

  func testOpenClientInfoRejectsBadInput() {
    let server = DERPKeyPair.generate()
    let client = DERPKeyPair.generate()
    XCTAssertThrowsError(try Handshake.openClientInfo(payload: [UInt8](repeating: 0, count: 55), serverPrivateKey: server.privateKey)) {
      XCTAssertEqual($0 as? HandshakeError, .payloadTooShort(bytes: 55, minimum: 56))
    }
    XCTAssertThrowsError(try Handshake.openClientInfo(payload: [UInt8](repeating: 0, count: 256 * 1024 + 1),
                                                      serverPrivateKey: server.privateKey)) {
      XCTAssertEqual($0 as? HandshakeError, .payloadTooLarge(bytes: 256 * 1024 + 1, maximum: 256 * 1024))
    }
    // Claimed key differs from the sealing key.
    var frame = Handshake.sealClientInfoFrame(ClientInfo(), client: client, serverKey: server.publicKey)
    frame[5] ^= 1
    XCTAssertThrowsError(try Handshake.openClientInfo(payload: Array(frame[5...]), serverPrivateKey: server.privateKey)) {
      XCTAssertEqual($0 as? HandshakeError, .boxOpenFailed)
    }
    // Authentic box holding something that is not JSON.
    let sealed = NaClBox.seal(Array("not json".utf8), to: server.publicKey, from: client.privateKey)
    let payload = client.publicKey.bytes + sealed
    XCTAssertThrowsError(try Handshake.openClientInfo(payload: payload, serverPrivateKey: server.privateKey)) {
      guard case .badJSON? = $0 as? HandshakeError else { return XCTFail("\($0)") }
    }
  }
}
