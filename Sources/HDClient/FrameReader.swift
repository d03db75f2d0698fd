// Buffered frame reader over a transport: reads in large chunks and hands out
// one frame at a time as a pointer into its buffer (valid until the next call),
// so a busy receiver decodes many frames per read system call.
import HDProtocol

public struct FrameReader: ~Copyable {
  /// Room for the largest frame a client accepts plus a header.
  public static let defaultCapacityBytes = DERPConstants.maxClientFrameBytes + DERPConstants.frameHeaderBytes

  let storage: UnsafeMutableRawPointer
  let capacity: Int
  /// Unconsumed bytes are storage[start..<end].
  var start = 0
  var end = 0

  public init(capacityBytes: Int = FrameReader.defaultCapacityBytes) {
    capacity = capacityBytes
    storage = UnsafeMutableRawPointer.allocate(byteCount: capacityBytes, alignment: 16)
  }

  deinit { storage.deallocate() }

  /// Bytes buffered but not yet returned as frames.
  public var bufferedBytes: Int { end - start }

  /// A copy of the buffered bytes that do not yet form a whole frame.
  public func unconsumedBytes() -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: storage + start, count: end - start))
  }

  /// Adds bytes that were read elsewhere (e.g. handshake leftovers).
  public mutating func append(_ bytes: UnsafeRawBufferPointer) {
    compactIfNeeded(for: bytes.count)
    precondition(end + bytes.count <= capacity, "FrameReader overflow")
    (storage + end).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    end += bytes.count
  }

  /// The next complete frame already in the buffer, without reading. The
  /// payload pointer stays valid until the next mutating call.
  public mutating func nextBufferedFrame() throws(DERPClientError) -> (FrameHeader, UnsafeRawBufferPointer)? {
    let available = end - start
    guard available >= DERPConstants.frameHeaderBytes else { return nil }
    let header = FrameHeader(decodingFrom: storage + start)
    let payloadBytes = Int(header.payloadBytes)
    guard payloadBytes + DERPConstants.frameHeaderBytes <= capacity else {
      throw .protocolViolation("frame of \(payloadBytes) bytes exceeds the client limit")
    }
    guard available >= DERPConstants.frameHeaderBytes + payloadBytes else { return nil }
    let payload = UnsafeRawBufferPointer(start: storage + start + DERPConstants.frameHeaderBytes, count: payloadBytes)
    start += DERPConstants.frameHeaderBytes + payloadBytes
    if start == end {
      start = 0
      end = 0
    }
    return (header, payload)
  }

  /// Reads from `transport` until a whole frame is buffered, then returns it.
  public mutating func nextFrame(from transport: ClientTransport) throws(DERPClientError) -> (FrameHeader, UnsafeRawBufferPointer) {
    while true {
      if let frame = try nextBufferedFrame() { return frame }
      try fill(from: transport)
    }
  }

  /// One read into the free space (after compacting). Throws `.closed` at EOF.
  public mutating func fill(from transport: ClientTransport) throws(DERPClientError) {
    compactIfNeeded(for: DERPConstants.frameHeaderBytes)
    let n = try transport.read(into: UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end))
    if n == 0 { throw .closed }
    end += n
  }

  /// Moves unconsumed bytes to the front when the tail is too small for what
  /// is coming (the rest of the current frame, or `minimumFree`).
  mutating func compactIfNeeded(for minimumFree: Int) {
    var needed = minimumFree
    if end - start >= DERPConstants.frameHeaderBytes {
      let frameBytes = DERPConstants.frameHeaderBytes + Int(FrameHeader(decodingFrom: storage + start).payloadBytes)
      needed = max(needed, frameBytes - (end - start))
    }
    guard capacity - end < needed, start > 0 else { return }
    (storage).copyMemory(from: storage + start, byteCount: end - start)
    end -= start
    start = 0
  }
}
