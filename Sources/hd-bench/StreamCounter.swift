// Counts DERP frames in a received byte stream without copying payloads:
// only the 5-byte headers are looked at, everything else is skipped. This is
// what keeps the generator's receive cost far below the relay's.
import HDProtocol

struct StreamCounter {
  /// RecvPacket frames fully received, and their packet bytes (payload − 32).
  var packets: UInt64 = 0
  var packetBytes: UInt64 = 0
  /// Other frames (KeepAlive, PeerGone, …), counted for diagnostics.
  var otherFrames: UInt64 = 0
  /// Set when a header claims more than a client accepts: the stream is garbage.
  var corrupt = false

  var headerBytes: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
  var headerHave = 0
  var payloadLeft = 0
  var currentIsPacket = false
  var currentPacketBytes = 0

  @inline(__always)
  mutating func consume(_ base: UnsafeRawPointer, _ count: Int) {
    var p = 0
    while p < count {
      if payloadLeft > 0 {
        let take = min(payloadLeft, count - p)
        payloadLeft -= take
        p += take
        if payloadLeft == 0 { finishFrame() }
        continue
      }
      let header: FrameHeader
      if headerHave == 0 && count - p >= DERPConstants.frameHeaderBytes {
        header = FrameHeader(decodingFrom: base + p)
        p += DERPConstants.frameHeaderBytes
      } else {
        let take = min(DERPConstants.frameHeaderBytes - headerHave, count - p)
        withUnsafeMutableBytes(of: &headerBytes) { h in
          (h.baseAddress! + headerHave).copyMemory(from: base + p, byteCount: take)
        }
        headerHave += take
        p += take
        guard headerHave == DERPConstants.frameHeaderBytes else { return }
        headerHave = 0
        header = withUnsafeBytes(of: &headerBytes) { FrameHeader(decodingFrom: $0.baseAddress!) }
      }
      startFrame(header)
    }
  }

  @inline(__always)
  mutating func startFrame(_ header: FrameHeader) {
    let length = Int(header.payloadBytes)
    if length > DERPConstants.maxClientFrameBytes { corrupt = true }
    currentIsPacket = header.typeByte == FrameType.recvPacket.rawValue && length >= DERPConstants.keyBytes
    currentPacketBytes = length - DERPConstants.keyBytes
    payloadLeft = length
    if length == 0 { finishFrame() }
  }

  @inline(__always)
  mutating func finishFrame() {
    if currentIsPacket {
      packets &+= 1
      packetBytes &+= UInt64(currentPacketBytes)
    } else {
      otherFrames &+= 1
    }
  }
}
