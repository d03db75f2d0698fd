// Disco detection: the server answers a disco packet to an unknown key with
// PeerGone(NotHere) and queues disco packets separately (spec §4.1).

/// True if the packet starts with `"TS💬"` and is at least 62 bytes long.
@inlinable
public func isDiscoPacket(_ packet: UnsafeRawPointer, _ packetBytes: Int) -> Bool {
  guard packetBytes >= DERPConstants.discoMinBytes else { return false }
  // 54 53 f0 9f | 92 ac: compare as one 4-byte and one 2-byte word (byte order
  // independent because both sides are loaded the same way).
  let head = packet.loadUnaligned(as: UInt32.self)
  let tail = packet.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
  return head == UInt32(littleEndian: 0x9ff0_5354) && tail == UInt16(littleEndian: 0xac92)
}
