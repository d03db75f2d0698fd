// Lock-free single-producer/single-consumer byte ring between two workers.
// Records are 8-byte aligned: [UInt32 recordBytes][UInt8 type][3 pad][body].
// A record that would straddle the end is preceded by a padding record that
// fills the tail, so every body is contiguous. Positions only grow; the ring
// index is position & (capacity - 1).
import CURing

final class XferRing: @unchecked Sendable {
  static let headerBytes = 8
  static let padType: UInt8 = 0

  let capacity: Int
  let buffer: UnsafeMutableRawPointer
  /// [0] consumer position (head), [8] producer position (tail): separate cache lines.
  private let positions: UnsafeMutablePointer<UInt64>

  // Producer-side cache (producer thread only).
  private var producerTail: UInt64 = 0
  private var cachedHead: UInt64 = 0
  // Consumer-side cache (consumer thread only).
  private var consumerHead: UInt64 = 0
  private var cachedTail: UInt64 = 0

  init(capacity: Int) {
    precondition(capacity & (capacity - 1) == 0, "xfer ring capacity must be a power of two")
    self.capacity = capacity
    buffer = .allocate(byteCount: capacity, alignment: 64)
    positions = .allocate(capacity: 16)
    positions.initialize(repeating: 0, count: 16)
  }

  deinit {
    buffer.deallocate()
    positions.deallocate()
  }

  // MARK: Producer

  /// Space for a record with `bodyBytes`; write the body, then `commit()`.
  /// Nil when the ring is full (the consumer is behind).
  @inline(__always)
  func reserve(type: UInt8, bodyBytes: Int) -> UnsafeMutableRawPointer? {
    let recordBytes = (XferRing.headerBytes + bodyBytes + 7) & ~7
    let index = Int(producerTail & UInt64(capacity - 1))
    let tailRoom = capacity - index
    let needed = recordBytes <= tailRoom ? recordBytes : recordBytes + tailRoom
    if Int(producerTail &- cachedHead) + needed > capacity {
      cachedHead = hd_load_acquire(positions)
      if Int(producerTail &- cachedHead) + needed > capacity { return nil }
    }
    var at = index
    if recordBytes > tailRoom {
      (buffer + index).storeBytes(of: UInt32(tailRoom), as: UInt32.self)
      (buffer + index).storeBytes(of: XferRing.padType, toByteOffset: 4, as: UInt8.self)
      producerTail &+= UInt64(tailRoom)
      at = 0
    }
    (buffer + at).storeBytes(of: UInt32(recordBytes), as: UInt32.self)
    (buffer + at).storeBytes(of: type, toByteOffset: 4, as: UInt8.self)
    pendingRecordBytes = recordBytes
    return buffer + at + XferRing.headerBytes
  }

  private var pendingRecordBytes = 0

  /// Publishes the record from the last `reserve`.
  @inline(__always)
  func commit() {
    producerTail &+= UInt64(pendingRecordBytes)
    hd_store_release(positions + 8, producerTail)
  }

  // MARK: Consumer

  /// True if records are waiting (any thread may ask; used before sleeping).
  var hasData: Bool { hd_load_acquire(positions + 8) != hd_load_acquire(positions) }

  /// Bytes written and not yet consumed (producer side: backpressure check).
  var usedBytes: Int { Int(producerTail &- hd_load_acquire(positions)) }

  /// Consumer side: bytes published by the producer and not yet consumed.
  @inline(__always)
  var consumerBacklogBytes: Int { Int(hd_load_acquire(positions + 8) &- consumerHead) }

  /// Calls `body(type, bodyPointer, bodyBytes)` for up to `max` records, then
  /// releases their space. `body` returns false to leave its record (and the
  /// rest) in the ring for a later call. Returns how many were handled, or -1
  /// when `body` stopped.
  @inline(__always)
  func consume(max: Int, _ body: (UInt8, UnsafeMutableRawPointer, Int) -> Bool) -> Int {
    if consumerHead == cachedTail {
      cachedTail = hd_load_acquire(positions + 8)
      if consumerHead == cachedTail { return 0 }
    }
    var handled = 0
    while consumerHead != cachedTail && handled < max {
      let at = buffer + Int(consumerHead & UInt64(capacity - 1))
      let recordBytes = Int(at.load(as: UInt32.self))
      let type = at.load(fromByteOffset: 4, as: UInt8.self)
      if type != XferRing.padType {
        if !body(type, at + XferRing.headerBytes, recordBytes - XferRing.headerBytes) {
          hd_store_release(positions, consumerHead)
          return -1
        }
        handled += 1
      }
      consumerHead &+= UInt64(recordBytes)
    }
    hd_store_release(positions, consumerHead)
    return handled
  }
}
