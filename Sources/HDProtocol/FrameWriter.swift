// Frame builders writing into caller-provided buffers: no allocation, each
// returns the number of bytes written so the caller can batch frames back to
// back in one send buffer.

public enum FrameWriter {
  /// Header + source key; the packet bytes follow at this offset.
  public static let recvPacketHeaderBytes = DERPConstants.frameHeaderBytes + DERPConstants.keyBytes
  /// Header + destination key; the packet bytes follow at this offset.
  public static let sendPacketHeaderBytes = recvPacketHeaderBytes
  /// Header + source key + destination key, then the packet bytes.
  public static let forwardPacketHeaderBytes = DERPConstants.frameHeaderBytes + 2 * DERPConstants.keyBytes
  public static let serverKeyFrameBytes = DERPConstants.frameHeaderBytes + DERPConstants.serverKeyPayloadBytes
  public static let peerGoneFrameBytes = DERPConstants.frameHeaderBytes + DERPConstants.peerGonePayloadBytes
  public static let peerPresentFrameBytes = DERPConstants.frameHeaderBytes + DERPConstants.peerPresentPayloadBytes
  public static let pingFrameBytes = DERPConstants.frameHeaderBytes + DERPConstants.pingPayloadBytes
  public static let pongFrameBytes = pingFrameBytes
  public static let keepAliveFrameBytes = DERPConstants.frameHeaderBytes
  public static let notePreferredFrameBytes = DERPConstants.frameHeaderBytes + 1
  public static let closePeerFrameBytes = DERPConstants.frameHeaderBytes + DERPConstants.keyBytes
  public static let restartingFrameBytes = DERPConstants.frameHeaderBytes + DERPConstants.restartingPayloadBytes

  // MARK: Server → client

  /// ServerKey: magic + server public key (45 bytes).
  @inlinable @discardableResult
  public static func serverKey(_ key: DERPKey, to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .serverKey, payloadBytes: DERPConstants.serverKeyPayloadBytes, to: out)
    let m = DERPConstants.magic
    let p = out + DERPConstants.frameHeaderBytes
    p.storeBytes(of: m.0, toByteOffset: 0, as: UInt8.self)
    p.storeBytes(of: m.1, toByteOffset: 1, as: UInt8.self)
    p.storeBytes(of: m.2, toByteOffset: 2, as: UInt8.self)
    p.storeBytes(of: m.3, toByteOffset: 3, as: UInt8.self)
    p.storeBytes(of: m.4, toByteOffset: 4, as: UInt8.self)
    p.storeBytes(of: m.5, toByteOffset: 5, as: UInt8.self)
    p.storeBytes(of: m.6, toByteOffset: 6, as: UInt8.self)
    p.storeBytes(of: m.7, toByteOffset: 7, as: UInt8.self)
    key.store(to: p + DERPConstants.magicBytes)
    return serverKeyFrameBytes
  }

  /// RecvPacket header for a packet of `packetBytes` from `source` (37 bytes);
  /// the caller places the packet right after it.
  @inlinable @discardableResult
  public static func recvPacketHeader(source: DERPKey, packetBytes: Int, to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .recvPacket, payloadBytes: DERPConstants.keyBytes + packetBytes, to: out)
    source.store(to: out + DERPConstants.frameHeaderBytes)
    return recvPacketHeaderBytes
  }

  /// PeerGone(key, reason) (38 bytes).
  @inlinable @discardableResult
  public static func peerGone(_ key: DERPKey, reason: PeerGoneReason, to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .peerGone, payloadBytes: DERPConstants.peerGonePayloadBytes, to: out)
    key.store(to: out + DERPConstants.frameHeaderBytes)
    out.storeBytes(of: reason.rawValue, toByteOffset: DERPConstants.frameHeaderBytes + DERPConstants.keyBytes, as: UInt8.self)
    return peerGoneFrameBytes
  }

  /// PeerPresent with all 51 payload bytes: key, IPv6, port, flags (56 bytes).
  @inlinable @discardableResult
  public static func peerPresent(_ key: DERPKey, address: PeerAddress, flags: PeerPresentFlags,
                                 to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .peerPresent, payloadBytes: DERPConstants.peerPresentPayloadBytes, to: out)
    key.store(to: out + DERPConstants.frameHeaderBytes)
    address.store(to: out + DERPConstants.frameHeaderBytes + DERPConstants.keyBytes)
    out.storeBytes(of: flags.rawValue, toByteOffset: peerPresentFrameBytes - 1, as: UInt8.self)
    return peerPresentFrameBytes
  }

  /// Pong echoing the first 8 bytes at `pingPayload` (13 bytes).
  @inlinable @discardableResult
  public static func pong(echoing pingPayload: UnsafeRawPointer, to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .pong, payloadBytes: DERPConstants.pingPayloadBytes, to: out)
    out.storeBytes(of: pingPayload.loadUnaligned(as: UInt64.self), toByteOffset: DERPConstants.frameHeaderBytes, as: UInt64.self)
    return pongFrameBytes
  }

  /// KeepAlive: header only (5 bytes).
  @inlinable @discardableResult
  public static func keepAlive(to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .keepAlive, payloadBytes: 0, to: out)
    return keepAliveFrameBytes
  }

  /// Restarting(reconnectIn, tryFor) in milliseconds (13 bytes).
  @inlinable @discardableResult
  public static func restarting(reconnectInMilliseconds: UInt32, tryForMilliseconds: UInt32,
                                to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .restarting, payloadBytes: DERPConstants.restartingPayloadBytes, to: out)
    out.storeBytes(of: reconnectInMilliseconds.bigEndian, toByteOffset: 5, as: UInt32.self)
    out.storeBytes(of: tryForMilliseconds.bigEndian, toByteOffset: 9, as: UInt32.self)
    return restartingFrameBytes
  }

  // MARK: Client → server (also used by tests and the load generator)

  /// SendPacket header for `packetBytes` to `destination` (37 bytes); packet follows.
  @inlinable @discardableResult
  public static func sendPacketHeader(destination: DERPKey, packetBytes: Int, to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .sendPacket, payloadBytes: DERPConstants.keyBytes + packetBytes, to: out)
    destination.store(to: out + DERPConstants.frameHeaderBytes)
    return sendPacketHeaderBytes
  }

  /// ForwardPacket header (69 bytes); packet follows.
  @inlinable @discardableResult
  public static func forwardPacketHeader(source: DERPKey, destination: DERPKey, packetBytes: Int,
                                         to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .forwardPacket, payloadBytes: 2 * DERPConstants.keyBytes + packetBytes, to: out)
    source.store(to: out + DERPConstants.frameHeaderBytes)
    destination.store(to: out + DERPConstants.frameHeaderBytes + DERPConstants.keyBytes)
    return forwardPacketHeaderBytes
  }

  /// Ping with 8 payload bytes (13 bytes).
  @inlinable @discardableResult
  public static func ping(payload: UInt64, to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .ping, payloadBytes: DERPConstants.pingPayloadBytes, to: out)
    out.storeBytes(of: payload, toByteOffset: DERPConstants.frameHeaderBytes, as: UInt64.self)
    return pingFrameBytes
  }

  /// NotePreferred(preferred) (6 bytes).
  @inlinable @discardableResult
  public static func notePreferred(_ preferred: Bool, to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .notePreferred, payloadBytes: 1, to: out)
    out.storeBytes(of: preferred ? UInt8(1) : 0, toByteOffset: DERPConstants.frameHeaderBytes, as: UInt8.self)
    return notePreferredFrameBytes
  }

  /// WatchConns (5 bytes).
  @inlinable @discardableResult
  public static func watchConns(to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .watchConns, payloadBytes: 0, to: out)
    return DERPConstants.frameHeaderBytes
  }

  /// ClosePeer(key) (37 bytes).
  @inlinable @discardableResult
  public static func closePeer(_ key: DERPKey, to out: UnsafeMutableRawPointer) -> Int {
    FrameHeader.encode(type: .closePeer, payloadBytes: DERPConstants.keyBytes, to: out)
    key.store(to: out + DERPConstants.frameHeaderBytes)
    return closePeerFrameBytes
  }
}
