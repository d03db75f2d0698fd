// A server→client frame decoded into a value (control plane and tests: the
// payloads are copied into arrays).
import HDProtocol

public enum ReceivedFrame: Equatable, Sendable {
  case recvPacket(source: DERPKey, packet: [UInt8])
  /// `reason` is the raw byte (0 when an old server omitted it).
  case peerGone(DERPKey, reason: UInt8)
  /// Address and flags are nil when the server sent the short forms.
  case peerPresent(DERPKey, address: PeerAddress?, flags: PeerPresentFlags?)
  case keepAlive
  case ping([UInt8])
  case pong([UInt8])
  case health(String)
  case restarting(reconnectInMilliseconds: UInt32, tryForMilliseconds: UInt32)
  case serverInfo(ServerInfo)
  case serverKey(DERPKey)
  case unknown(type: UInt8, payload: [UInt8])

  /// Decodes one frame whose payload is `payload`. Malformed known frames are
  /// protocol violations (a real server never sends them).
  package static func decode(header: FrameHeader, payload: UnsafeRawBufferPointer, keys: DERPKeyPair,
                     serverKey: DERPKey) throws(DERPClientError) -> ReceivedFrame {
    let n = payload.count
    let base = payload.baseAddress
    func need(_ minimum: Int, _ name: String) throws(DERPClientError) {
      guard n >= minimum else { throw .protocolViolation("\(name) frame of \(n) bytes, need \(minimum)") }
    }
    guard let type = header.type else { return .unknown(type: header.typeByte, payload: Array(payload)) }
    switch type {
    case .recvPacket:
      try need(DERPConstants.keyBytes, "RecvPacket")
      return .recvPacket(source: DERPKey(bytes: base!), packet: Array(payload[DERPConstants.keyBytes...]))
    case .peerGone:
      try need(DERPConstants.keyBytes, "PeerGone")
      return .peerGone(DERPKey(bytes: base!), reason: n > DERPConstants.keyBytes ? payload[DERPConstants.keyBytes] : 0)
    case .peerPresent:
      try need(DERPConstants.keyBytes, "PeerPresent")
      let key = DERPKey(bytes: base!)
      var address: PeerAddress?
      var flags: PeerPresentFlags?
      if n >= DERPConstants.keyBytes + 18 {
        let port = UInt16(payload[DERPConstants.keyBytes + 16]) << 8 | UInt16(payload[DERPConstants.keyBytes + 17])
        address = PeerAddress(ip16: base! + DERPConstants.keyBytes, port: port)
      }
      if n >= DERPConstants.peerPresentPayloadBytes { flags = PeerPresentFlags(rawValue: payload[DERPConstants.keyBytes + 18]) }
      return .peerPresent(key, address: address, flags: flags)
    case .keepAlive: return .keepAlive
    case .ping: return .ping(Array(payload))
    case .pong: return .pong(Array(payload))
    case .health: return .health(String(decoding: payload, as: UTF8.self))
    case .restarting:
      try need(DERPConstants.restartingPayloadBytes, "Restarting")
      return .restarting(reconnectInMilliseconds: UInt32(bigEndian: base!.loadUnaligned(as: UInt32.self)),
                         tryForMilliseconds: UInt32(bigEndian: base!.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
    case .serverInfo:
      do {
        return .serverInfo(try Handshake.openServerInfo(payload: payload, clientPrivateKey: keys.privateKey, serverKey: serverKey))
      } catch { throw .handshake(error) }
    case .serverKey:
      do { return .serverKey(try Handshake.parseServerKey(payload: payload)) } catch { throw .handshake(error) }
    case .clientInfo, .sendPacket, .notePreferred, .forwardPacket, .watchConns, .closePeer:
      // Client→server types coming back are not for us; surface them raw.
      return .unknown(type: header.typeByte, payload: Array(payload))
    }
  }
}
