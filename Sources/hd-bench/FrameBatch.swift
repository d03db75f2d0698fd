// A send buffer holding `frames` identical SendPacket frames back to back.
// Every sender's byte stream is this buffer repeated, so a write can start at
// any offset (after a partial send) and still produce whole, valid frames.
import HDProtocol

struct FrameBatch {
  let buffer: UnsafeMutableRawPointer
  let frameBytes: Int
  let frames: Int
  var bytes: Int { frameBytes * frames }

  init(destination: DERPKey, messageBytes: Int, frames: Int) {
    frameBytes = FrameWriter.sendPacketHeaderBytes + messageBytes
    self.frames = frames
    buffer = UnsafeMutableRawPointer.allocate(byteCount: frameBytes * frames, alignment: 64)
    for i in 0..<frames {
      let frame = buffer + i * frameBytes
      FrameWriter.sendPacketHeader(destination: destination, packetBytes: messageBytes, to: frame)
      // A fixed, non-disco byte pattern (the C++ tool also sends a constant pattern).
      let payload = (frame + FrameWriter.sendPacketHeaderBytes).assumingMemoryBound(to: UInt8.self)
      for j in 0..<messageBytes { payload[j] = UInt8(truncatingIfNeeded: j &* 31 &+ 7) }
    }
  }

  func free() { buffer.deallocate() }

  /// The slice to write next, given the bytes already written on this stream
  /// and the number of whole frames the sender may have written in total.
  @inline(__always)
  func nextWrite(bytesWritten: UInt64, framesAllowed: UInt64) -> (UnsafeRawPointer, Int) {
    let offset = Int(bytesWritten % UInt64(frameBytes))
    let allowedBytes = framesAllowed &* UInt64(frameBytes)
    guard allowedBytes > bytesWritten else { return (UnsafeRawPointer(buffer), 0) }
    let length = min(Int(min(allowedBytes - bytesWritten, UInt64(Int.max))), bytes - offset)
    return (UnsafeRawPointer(buffer + offset), length)
  }
}
