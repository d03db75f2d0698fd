import XCTest
@testable import HDProtocol

final class FrameCodecTests: XCTestCase {
  func testHeaderIsTypeThenBigEndianLength() {
    var buf = [UInt8](repeating: 0xee, count: 6)
    buf.withUnsafeMutableBytes { FrameHeader(typeByte: 0x04, payloadBytes: 0x0102_0304).encode(to: $0.baseAddress!) }
    XCTAssertEqual(buf, [0x04, 0x01, 0x02, 0x03, 0x04, 0xee])
  }

  func testHeaderRoundTripAtUnalignedOffset() {
    var buf = [UInt8](repeating: 0, count: 16)
    for length in [0, 1, 255, 65_536 + 64, Int(UInt32.max)] {
      buf.withUnsafeMutableBytes { FrameHeader.encode(type: .pong, payloadBytes: length, to: $0.baseAddress! + 3) }
      let decoded = buf.withUnsafeBytes { FrameHeader(decodingFrom: $0.baseAddress! + 3) }
      XCTAssertEqual(decoded.type, .pong)
      XCTAssertEqual(Int(decoded.payloadBytes), length)
    }
  }

  func testDecodeNeedsFiveBytes() {
    let buf: [UInt8] = [0x01, 0, 0, 0, 0x28]
    buf.withUnsafeBytes { raw in
      XCTAssertNil(FrameHeader.decode(raw.baseAddress!, available: 4))
      XCTAssertEqual(FrameHeader.decode(raw.baseAddress!, available: 5), FrameHeader(typeByte: 1, payloadBytes: 40))
    }
  }

  func testFrameTypeValuesAndGap() {
    XCTAssertEqual(FrameType.allCases.count, 16)
    XCTAssertEqual(FrameType.serverKey.rawValue, 0x01)
    XCTAssertEqual(FrameType.forwardPacket.rawValue, 0x0a)
    XCTAssertEqual(FrameType.watchConns.rawValue, 0x10)
    XCTAssertEqual(FrameType.restarting.rawValue, 0x15)
    for gap in UInt8(0x0b)...0x0f { XCTAssertNil(FrameType(rawValue: gap)) }
    XCTAssertNil(FrameHeader(typeByte: 0x0c, payloadBytes: 0).type, "unknown types must decode, not crash")
  }

  func testConstants() {
    XCTAssertEqual(DERPConstants.maxPacketBytes, 65_536)
    XCTAssertEqual(DERPConstants.discoMinBytes, 62)
    XCTAssertEqual(DERPConstants.minClientInfoBytes, 56)
    XCTAssertEqual(DERPConstants.peerPresentPayloadBytes, 51)
    let m = DERPConstants.magic
    XCTAssertEqual([m.0, m.1, m.2, m.3, m.4, m.5, m.6, m.7], Array("DERP🔑".utf8))
    let d = DERPConstants.discoMagic
    XCTAssertEqual([d.0, d.1, d.2, d.3, d.4, d.5], Array("TS💬".utf8))
  }

  func testServerKeyFrameMatchesObservedBytes() {
    let key = DERPKey(hex: String(repeating: "ab", count: 32))!
    let frame = Handshake.serverKeyFrame(serverKey: key)
    XCTAssertEqual(Array(frame.prefix(5)), [0x01, 0x00, 0x00, 0x00, 0x28])
    XCTAssertEqual(Array(frame[5..<13]), Array("DERP🔑".utf8))
    XCTAssertEqual(Array(frame[13...]), [UInt8](repeating: 0xab, count: 32))
    let parsed = frame.withUnsafeBytes { try? Handshake.parseServerKey(payload: UnsafeRawBufferPointer(rebasing: $0[5...])) }
    XCTAssertEqual(parsed, key)
  }

  func testServerKeyRejectsBadMagicAndShortPayload() throws {
    var frame = Handshake.serverKeyFrame(serverKey: .zero)
    frame[6] ^= 0xff
    try frame.withUnsafeBytes { raw in
      XCTAssertThrowsError(try Handshake.parseServerKey(payload: UnsafeRawBufferPointer(rebasing: raw[5...]))) {
        XCTAssertEqual($0 as? HandshakeError, .badMagic)
      }
      XCTAssertThrowsError(try Handshake.parseServerKey(payload: UnsafeRawBufferPointer(rebasing: raw[5..<44]))) {
        XCTAssertEqual($0 as? HandshakeError, .payloadTooShort(bytes: 39, minimum: 40))
      }
    }
  }

  func testServerFrameBuilders() {
    let key = DERPKey(hex: "0102030405060708091011121314151617181920212223242526272829303132")!
    var buf = [UInt8](repeating: 0, count: 128)
    buf.withUnsafeMutableBytes { p in
      XCTAssertEqual(FrameWriter.recvPacketHeader(source: key, packetBytes: 100, to: p.baseAddress!), 37)
    }
    XCTAssertEqual(Array(buf[0..<5]), [0x05, 0, 0, 0, 132])
    XCTAssertEqual(Array(buf[5..<37]), key.bytes)

    buf.withUnsafeMutableBytes { p in XCTAssertEqual(FrameWriter.peerGone(key, reason: .notHere, to: p.baseAddress!), 38) }
    XCTAssertEqual(Array(buf[0..<5]), [0x08, 0, 0, 0, 33])
    XCTAssertEqual(buf[37], 0x01)

    let ping: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    buf.withUnsafeMutableBytes { p in
      ping.withUnsafeBytes { XCTAssertEqual(FrameWriter.pong(echoing: $0.baseAddress!, to: p.baseAddress!), 13) }
    }
    XCTAssertEqual(Array(buf[0..<13]), [0x13, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])

    buf.withUnsafeMutableBytes { p in XCTAssertEqual(FrameWriter.keepAlive(to: p.baseAddress!), 5) }
    XCTAssertEqual(Array(buf[0..<5]), [0x06, 0, 0, 0, 0])

    buf.withUnsafeMutableBytes { p in
      XCTAssertEqual(FrameWriter.peerPresent(key, address: PeerAddress(ipv4: 127, 0, 0, 1, port: 0x1234),
                                             flags: .isRegular, to: p.baseAddress!), 56)
    }
    XCTAssertEqual(Array(buf[0..<5]), [0x09, 0, 0, 0, 51])
    XCTAssertEqual(Array(buf[37..<53]), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1])
    XCTAssertEqual(Array(buf[53..<56]), [0x12, 0x34, 0x01])

    buf.withUnsafeMutableBytes { p in
      XCTAssertEqual(FrameWriter.restarting(reconnectInMilliseconds: 0x0102, tryForMilliseconds: 0x0a0b0c0d, to: p.baseAddress!), 13)
    }
    XCTAssertEqual(Array(buf[0..<13]), [0x15, 0, 0, 0, 8, 0, 0, 1, 2, 0x0a, 0x0b, 0x0c, 0x0d])
  }

  func testClientFrameBuilders() {
    let a = DERPKeyPair.generate().publicKey
    let b = DERPKeyPair.generate().publicKey
    var buf = [UInt8](repeating: 0, count: 128)
    buf.withUnsafeMutableBytes { p in
      XCTAssertEqual(FrameWriter.forwardPacketHeader(source: a, destination: b, packetBytes: 3, to: p.baseAddress!), 69)
    }
    XCTAssertEqual(Array(buf[0..<5]), [0x0a, 0, 0, 0, 67])
    XCTAssertEqual(Array(buf[5..<37]), a.bytes)
    XCTAssertEqual(Array(buf[37..<69]), b.bytes)
    buf.withUnsafeMutableBytes { p in XCTAssertEqual(FrameWriter.notePreferred(true, to: p.baseAddress!), 6) }
    XCTAssertEqual(Array(buf[0..<6]), [0x07, 0, 0, 0, 1, 1])
    buf.withUnsafeMutableBytes { p in XCTAssertEqual(FrameWriter.closePeer(b, to: p.baseAddress!), 37) }
    XCTAssertEqual(Array(buf[0..<5]), [0x11, 0, 0, 0, 32])
    buf.withUnsafeMutableBytes { p in XCTAssertEqual(FrameWriter.sendPacketHeader(destination: b, packetBytes: 0, to: p.baseAddress!), 37) }
    XCTAssertEqual(Array(buf[0..<5]), [0x04, 0, 0, 0, 32])
  }

  func testDiscoDetection() {
    var packet = Array("TS💬".utf8) + [UInt8](repeating: 7, count: 56)
    XCTAssertEqual(packet.count, 62)
    XCTAssertTrue(packet.withUnsafeBytes { isDiscoPacket($0.baseAddress!, $0.count) })
    XCTAssertFalse(packet.withUnsafeBytes { isDiscoPacket($0.baseAddress!, 61) }, "too short for disco")
    packet[5] = 0xad
    XCTAssertFalse(packet.withUnsafeBytes { isDiscoPacket($0.baseAddress!, $0.count) })
    packet[5] = 0xac
    packet[0] = 0x55
    XCTAssertFalse(packet.withUnsafeBytes { isDiscoPacket($0.baseAddress!, $0.count) })
  }

  func testPeerAddressFromSockaddr() {
    var sin6 = sockaddrIn6Loopback(port: 443)
    let addr = withUnsafeBytes(of: &sin6) { PeerAddress(sockaddr: $0.baseAddress!) }
    var out = [UInt8](repeating: 0, count: 18)
    out.withUnsafeMutableBytes { addr!.store(to: $0.baseAddress!) }
    XCTAssertEqual(out, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xbb])
  }
}

import Glibc

func sockaddrIn6Loopback(port: UInt16) -> sockaddr_in6 {
  var sin6 = sockaddr_in6()
  sin6.sin6_family = sa_family_t(AF_INET6)
  sin6.sin6_port = port.bigEndian
  sin6.sin6_addr = in6addr_loopback
  return sin6
}
