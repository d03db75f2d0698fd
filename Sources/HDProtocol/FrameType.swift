// DERP frame types (spec/derp-protocol.md §2.1) with their payload layouts.

/// Type byte of a DERP frame. There are no types 0x0b–0x0f.
public enum FrameType: UInt8, Sendable, CaseIterable {
  /// S→C: 8B magic "DERP🔑" + 32B server public key (clients accept ≥ 40 bytes).
  case serverKey = 0x01
  /// C→S: 32B client public key + 24B nonce + NaCl box(ClientInfo JSON).
  case clientInfo = 0x02
  /// S→C: 24B nonce + NaCl box(ServerInfo JSON).
  case serverInfo = 0x03
  /// C→S: 32B destination key + packet bytes (0…65536).
  case sendPacket = 0x04
  /// S→C: 32B source key + packet bytes (protocol v2).
  case recvPacket = 0x05
  /// S→C: empty.
  case keepAlive = 0x06
  /// C→S: exactly 1 byte, 0x01 = this is my home DERP, 0x00 = not.
  case notePreferred = 0x07
  /// S→C: 32B peer key + 1B reason (missing reason byte means 0).
  case peerGone = 0x08
  /// S→C (watchers): 32B key [+ 16B IPv6 + 2B BE port [+ 1B flags]].
  case peerPresent = 0x09
  /// Mesh C→S: 32B source key + 32B destination key + packet bytes.
  case forwardPacket = 0x0a
  /// Mesh C→S: empty; asks for PeerPresent/PeerGone updates.
  case watchConns = 0x10
  /// Mesh C→S: exactly 32B key of the peer to disconnect.
  case closePeer = 0x11
  /// Either direction: 8 bytes (server accepts 8…1000, echoes the first 8).
  case ping = 0x12
  /// Either direction: the 8 ping bytes echoed.
  case pong = 0x13
  /// S→C: UTF-8 problem text; empty means healthy again.
  case health = 0x14
  /// S→C: two BE UInt32 milliseconds: reconnect-in, try-for.
  case restarting = 0x15
}
