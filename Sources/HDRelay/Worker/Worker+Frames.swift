// DERP frames from a client, by connection state (spec §3, §4).
import HDProtocol

@inline(__always) func isUnknownType(_ type: UInt8) -> Bool { FrameType(rawValue: type) == nil }

extension Worker {
  @inline(__always)
  func handleFrame(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, type: UInt8, payload: UnsafeMutableRawPointer, length: Int) {
    guard conn.pointee.state == .registered else {
      if conn.pointee.state == .awaitingClientInfo {
        handleClientInfo(slot, conn, type: type, payload: payload, length: length)
      }
      return
    }
    if peers.duplicates.count > 0 { noteSenderActivity(slot, conn) }
    switch type {
    case FrameType.sendPacket.rawValue:
      guard length >= 32, length - 32 <= DERPConstants.maxPacketBytes else {
        return protocolViolation(slot)
      }
      forward(slot, conn, source: conn.pointee.key, destination: DERPKey(bytes: payload), packet: payload + 32,
              packetBytes: length - 32, tracksSender: true)
    case FrameType.ping.rawValue:
      guard length >= DERPConstants.pingPayloadBytes, length <= DERPConstants.pingPayloadBytesMax else {
        return protocolViolation(slot)
      }
      stats.add(.gotPing)
      queuePong(slot, conn, payload)
    case FrameType.notePreferred.rawValue:
      guard length == 1 else { return protocolViolation(slot) }
      let preferred = payload.load(as: UInt8.self) != 0
      if preferred != conn.pointee.flags.contains(.preferred) {
        if preferred {
          conn.pointee.flags.insert(.preferred)
          stats.add(.currentHomeConnections)
        } else {
          conn.pointee.flags.remove(.preferred)
          stats.sub(.currentHomeConnections)
        }
      }
    case FrameType.watchConns.rawValue, FrameType.closePeer.rawValue, FrameType.forwardPacket.rawValue:
      // Mesh-only frames: closes a client without the mesh key.
      handleMeshFrame(slot, conn, type: type, payload: payload, length: length)
    default:
      // Known types a client has no business sending (KeepAlive, Pong, …) are
      // read and discarded, as derper does.
      break
    }
  }

  func protocolViolation(_ slot: Int32) {
    stats.add(.protocolErrors)
    beginClose(slot, reason: .protocolError)
  }

  /// A duplicate-key member that sends while not active becomes active
  /// (derper's "last writer is active").
  private func noteSenderActivity(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    let me = PeerLocation(worker: index, slot: slot, generation: conn.pointee.generation)
    guard let active = peers.lookup(conn.pointee.key), active != me else { return }
    let seq = shared.nextSequence()
    peers.activate(conn.pointee.key, me, seq: seq)
    broadcast(.activate(key: conn.pointee.key, location: me, seq: seq))
  }

}
