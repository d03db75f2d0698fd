// Packets on their way to one mesh peer: a bounded byte ring of complete
// ForwardPacket frames. Workers append (copying the packet, under a mutex);
// the peer's link thread takes bytes and writes them to its connection. Full
// means the peer (or the path to it) is slower than what we send it: the
// packet is dropped and counted (`mesh_queue_full`), never queued without
// bound. An eventfd tells the link thread that the ring went non-empty.
@preconcurrency import Glibc
import CURing
import HDProtocol
import Synchronization

final class MeshOutbox: @unchecked Sendable {
  private struct Ring {
    var head = 0
    var count = 0
  }

  let capacityBytes: Int
  private let buffer: UnsafeMutableRawPointer
  private let ring = Mutex(Ring())
  /// Readable while the ring holds bytes (the link thread polls it).
  let wakeFD: Int32

  init(capacityBytes: Int) throws(RelayError) {
    self.capacityBytes = capacityBytes
    buffer = .allocate(byteCount: capacityBytes, alignment: 64)
    let fd = hd_eventfd()
    guard fd >= 0 else {
      buffer.deallocate()
      throw RelayError.system("eventfd", errno: -fd)
    }
    wakeFD = fd
  }

  deinit {
    close(wakeFD)
    buffer.deallocate()
  }

  /// Appends ForwardPacket(source, destination, packet). False when it does not fit.
  func enqueue(source: DERPKey, destination: DERPKey, packet: UnsafeRawPointer, packetBytes: Int) -> Bool {
    let frameBytes = FrameWriter.forwardPacketHeaderBytes + packetBytes
    var header = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    let wasEmpty: Bool? = withUnsafeMutableBytes(of: &header) { h -> Bool? in
      _ = FrameWriter.forwardPacketHeader(source: source, destination: destination, packetBytes: packetBytes,
                                          to: h.baseAddress!)
      return ring.withLock { r -> Bool? in
        guard capacityBytes - r.count >= frameBytes else { return nil }
        let empty = r.count == 0
        var tail = (r.head + r.count) % capacityBytes
        tail = copyIn(h.baseAddress!, FrameWriter.forwardPacketHeaderBytes, at: tail)
        _ = copyIn(packet, packetBytes, at: tail)
        r.count += frameBytes
        return empty
      }
    }
    guard let wasEmpty else { return false }
    if wasEmpty {
      var one: UInt64 = 1
      _ = write(wakeFD, &one, 8)
    }
    return true
  }

  /// Moves up to `maxBytes` queued bytes into `out`; returns how many.
  func take(into out: UnsafeMutableRawPointer, maxBytes: Int) -> Int {
    ring.withLock { r -> Int in
      let n = min(r.count, maxBytes)
      let first = min(n, capacityBytes - r.head)
      out.copyMemory(from: buffer + r.head, byteCount: first)
      if n > first { (out + first).copyMemory(from: buffer, byteCount: n - first) }
      r.head = (r.head + n) % capacityBytes
      r.count -= n
      return n
    }
  }

  /// Empties the ring (the connection to the peer was lost: these frames
  /// were for a path that no longer exists).
  func discardAll() -> Int {
    ring.withLock { r -> Int in
      let n = r.count
      r = Ring()
      return n
    }
  }

  /// Clears the eventfd after a wake-up.
  func acknowledgeWake() {
    var value: UInt64 = 0
    _ = read(wakeFD, &value, 8)
  }

  private func copyIn(_ source: UnsafeRawPointer, _ bytes: Int, at offset: Int) -> Int {
    let first = min(bytes, capacityBytes - offset)
    (buffer + offset).copyMemory(from: source, byteCount: first)
    if bytes > first { buffer.copyMemory(from: source + first, byteCount: bytes - first) }
    return (offset + bytes) % capacityBytes
  }
}
