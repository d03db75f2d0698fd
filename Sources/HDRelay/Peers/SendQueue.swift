// A connection's outgoing frames: three bounded FIFOs of frame blocks
// (control, disco, other — see docs/queueing.md) plus the msghdr and iovecs of
// the one sendmsg in flight. Lives in one small pool block that the connection
// holds only while it has something to send.
@preconcurrency import Glibc

/// Which FIFO a frame sits in; also the send order within one sendmsg.
enum SendClass: Int {
  case control = 0
  case disco = 1
  case other = 2
}

/// View over a send-queue block. Layout (bytes):
///   0: header (ring heads/counts, in-flight bookkeeping)
///  64: msghdr
/// 128: iovecs [sendIovecsMax]
/// then the control, disco and other rings of block pointers, then the class
/// of each in-flight iovec [sendIovecsMax].
struct SendQueue {
  let base: UnsafeMutableRawPointer

  static let msghdrOffset = 64
  static let iovecOffset = 128
  static let ringOffset = iovecOffset + Tuning.sendIovecsMax * 16
  /// Ring capacities (powers of two) by class.
  static let capacities = (Tuning.controlFramesMax, Tuning.discoQueueCapacity, Tuning.otherQueueCapacity)
  static let classMapOffset = ringOffset + (capacities.0 + capacities.1 + capacities.2) * 8
  static let blockBytesNeeded = classMapOffset + Tuning.sendIovecsMax

  @inline(__always) static func capacity(_ c: SendClass) -> Int {
    switch c {
    case .control: return capacities.0
    case .disco: return capacities.1
    case .other: return capacities.2
    }
  }

  @inline(__always) static func ringStart(_ c: SendClass) -> Int {
    switch c {
    case .control: return ringOffset
    case .disco: return ringOffset + capacities.0 * 8
    case .other: return ringOffset + (capacities.0 + capacities.1) * 8
    }
  }

  init(_ base: UnsafeMutableRawPointer) { self.base = base }

  /// Prepares a fresh block.
  static func initialize(_ base: UnsafeMutableRawPointer) {
    base.initializeMemory(as: UInt8.self, repeating: 0, count: msghdrOffset + MemoryLayout<msghdr>.size)
    base.storeBytes(of: 0xFF, toByteOffset: headerPartialClass, as: UInt8.self)
  }

  // Header fields: head[3]: UInt8 at 0..2, count[3]: UInt8 at 3..5, inflight[3]: UInt8 at 6..8,
  // partial class UInt8 at 9, iovecs in flight UInt8 at 10, partial offset UInt32 at 12.
  private static let headerPartialClass = 9

  @inline(__always) func head(_ c: SendClass) -> Int { Int(base.load(fromByteOffset: c.rawValue, as: UInt8.self)) }
  @inline(__always) func count(_ c: SendClass) -> Int { Int(base.load(fromByteOffset: 3 + c.rawValue, as: UInt8.self)) }
  @inline(__always) func inFlight(_ c: SendClass) -> Int { Int(base.load(fromByteOffset: 6 + c.rawValue, as: UInt8.self)) }
  @inline(__always) private func setHead(_ c: SendClass, _ v: Int) { base.storeBytes(of: UInt8(v), toByteOffset: c.rawValue, as: UInt8.self) }
  @inline(__always) private func setCount(_ c: SendClass, _ v: Int) { base.storeBytes(of: UInt8(v), toByteOffset: 3 + c.rawValue, as: UInt8.self) }
  @inline(__always) private func setInFlight(_ c: SendClass, _ v: Int) { base.storeBytes(of: UInt8(v), toByteOffset: 6 + c.rawValue, as: UInt8.self) }

  /// Class of the partly written frame (at the head of its FIFO), or nil.
  @inline(__always) var partialClass: SendClass? {
    SendClass(rawValue: Int(base.load(fromByteOffset: SendQueue.headerPartialClass, as: UInt8.self)))
  }
  @inline(__always) var partialOffset: Int { Int(base.load(fromByteOffset: 12, as: UInt32.self)) }
  @inline(__always) private func setPartial(_ c: SendClass?, offset: Int) {
    base.storeBytes(of: UInt8(c?.rawValue ?? 0xFF), toByteOffset: SendQueue.headerPartialClass, as: UInt8.self)
    base.storeBytes(of: UInt32(offset), toByteOffset: 12, as: UInt32.self)
  }
  @inline(__always) var iovecsInFlight: Int { Int(base.load(fromByteOffset: 10, as: UInt8.self)) }

  @inline(__always) private func ring(_ c: SendClass) -> UnsafeMutablePointer<UnsafeMutableRawPointer> {
    (base + SendQueue.ringStart(c)).assumingMemoryBound(to: UnsafeMutableRawPointer.self)
  }
  @inline(__always) private func at(_ c: SendClass, _ i: Int) -> UnsafeMutableRawPointer {
    ring(c)[(head(c) + i) & (SendQueue.capacity(c) - 1)]
  }

  var msghdrPointer: UnsafeMutablePointer<msghdr> { (base + SendQueue.msghdrOffset).assumingMemoryBound(to: msghdr.self) }
  private var iovecs: UnsafeMutablePointer<iovec> { (base + SendQueue.iovecOffset).assumingMemoryBound(to: iovec.self) }

  var isEmpty: Bool { count(.control) == 0 && count(.disco) == 0 && count(.other) == 0 }
  var queuedPackets: Int { count(.disco) + count(.other) }

  /// Appends a frame. With the FIFO full: drops the oldest frame not being
  /// written (returned in `dropped`, caller counts `queue_head`), or — when
  /// every queued frame is in flight — refuses the new one (caller counts
  /// `queue_tail` and frees it). `capacity` bounds this class's FIFO.
  @inline(__always)
  func push(_ block: UnsafeMutableRawPointer, _ c: SendClass, capacity requested: Int, dropped: inout UnsafeMutableRawPointer?) -> Bool {
    let capacity = min(requested, SendQueue.capacity(c))
    var n = count(c)
    if n >= capacity {
      // Frames being written (or partly written) cannot be dropped.
      let busy = max(inFlight(c), partialClass == c ? 1 : 0)
      if busy >= n { return false }
      // Remove the oldest idle frame (index `busy`) by shifting the later ones down.
      dropped = at(c, busy)
      var i = busy
      while i < n - 1 {
        ring(c)[(head(c) + i) & (SendQueue.capacity(c) - 1)] = at(c, i + 1)
        i += 1
      }
      n -= 1
    }
    ring(c)[(head(c) + n) & (SendQueue.capacity(c) - 1)] = block
    setCount(c, n + 1)
    return true
  }

  /// Fills the msghdr with iovecs for queued frames: a partly written frame
  /// first, then control, disco, other. Returns the bytes offered (0 = nothing).
  func prepareSend() -> Int {
    var n = 0
    var total = 0
    let partial = partialClass
    for r in 0..<3 { setInFlight(SendClass(rawValue: r)!, 0) }
    if let p = partial { addIovec(p, 0, skip: partialOffset, n: &n, total: &total) }
    outer: for r in 0..<3 {
      let c = SendClass(rawValue: r)!
      var i = c == partial ? 1 : 0
      while i < count(c) {
        if n == Tuning.sendIovecsMax { break outer }
        addIovec(c, i, skip: 0, n: &n, total: &total)
        i += 1
      }
    }
    base.storeBytes(of: UInt8(n), toByteOffset: 10, as: UInt8.self)
    let m = msghdrPointer
    m.pointee = msghdr()
    m.pointee.msg_iov = iovecs
    m.pointee.msg_iovlen = n
    return total
  }

  /// Frame `index` of class `c` (less its first `skip` bytes) becomes iovec `n`.
  /// A method with inout counters rather than a nested function: a nested
  /// function capturing `n` and `total` boxes them on the heap in debug builds,
  /// two allocations per sendmsg (HDRelayAllocationTests).
  @inline(__always)
  private func addIovec(_ c: SendClass, _ index: Int, skip: Int, n: inout Int, total: inout Int) {
    let block = at(c, index)
    let length = FrameBlock.frameBytes(block) - skip
    iovecs[n] = iovec(iov_base: FrameBlock.data(block) + skip, iov_len: length)
    (base + SendQueue.classMapOffset).storeBytes(of: UInt8(c.rawValue), toByteOffset: n, as: UInt8.self)
    setInFlight(c, inFlight(c) + 1)
    total += length
    n += 1
  }

  /// Accounts `sent` bytes of the in-flight sendmsg: completely written frames
  /// are popped and handed to `release` (with their class); a partly written
  /// one stays at its FIFO's head with the offset remembered.
  @inline(__always)
  func complete(sent: Int, release: (UnsafeMutableRawPointer, SendClass) -> Void) {
    var left = sent
    let classMap = base + SendQueue.classMapOffset
    let n = iovecsInFlight
    var i = 0
    while i < n {
      let c = SendClass(rawValue: Int(classMap.load(fromByteOffset: i, as: UInt8.self)))!
      let block = at(c, 0)
      let skip = partialClass == c ? partialOffset : 0
      let remaining = FrameBlock.frameBytes(block) - skip
      if left >= remaining {
        left -= remaining
        if partialClass == c { setPartial(nil, offset: 0) }
        setHead(c, (head(c) + 1) & (SendQueue.capacity(c) - 1))
        setCount(c, count(c) - 1)
        release(block, c)
      } else {
        if left > 0 { setPartial(c, offset: skip + left) }
        break
      }
      i += 1
    }
    for r in 0..<3 { setInFlight(SendClass(rawValue: r)!, 0) }
    base.storeBytes(of: UInt8(0), toByteOffset: 10, as: UInt8.self)
  }

  /// Pops every queued frame (connection closing); nothing may be in flight.
  func drain(_ release: (UnsafeMutableRawPointer, SendClass) -> Void) {
    for r in 0..<3 {
      let c = SendClass(rawValue: r)!
      while count(c) > 0 {
        let block = at(c, 0)
        setHead(c, (head(c) + 1) & (SendQueue.capacity(c) - 1))
        setCount(c, count(c) - 1)
        release(block, c)
      }
    }
    setPartial(nil, offset: 0)
  }
}
