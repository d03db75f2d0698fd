// A worker's packet memory: small and large block pools with one shared heap
// fallback budget. Frames are stored in blocks with a 16-byte header in
// front: frame length and which pool the block came from.

/// Header layout of a frame block: [frameBytes: UInt32][poolClass: UInt8] … data at 16.
enum FrameBlock {
  static let headerBytes = 16

  @inline(__always) static func data(_ block: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
    block + headerBytes
  }
  @inline(__always) static func frameBytes(_ block: UnsafeMutableRawPointer) -> Int {
    Int(block.load(as: UInt32.self))
  }
  @inline(__always) static func isLarge(_ block: UnsafeMutableRawPointer) -> Bool {
    block.load(fromByteOffset: 4, as: UInt8.self) != 0
  }
}

final class PacketMemory {
  let small: BlockPool
  let large: BlockPool
  /// Heap bytes the fallback may still take.
  var fallbackBudget: Int = Tuning.fallbackBytesMax
  /// Heap fallbacks so far (copied into the stats by the worker).
  var fallbacks: UInt64 = 0

  /// Send-queue state blocks (one per connection with something to send).
  let queues: BlockPool
  /// Userspace TLS scratch, one record of plaintext read and one gathered for
  /// writing: Swift's temporary allocations this large come from the heap.
  let tlsReadScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Worker.tlsRecordPlaintextBytesMax, alignment: 16)
  let tlsGatherScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Worker.tlsRecordGatherBytes, alignment: 16)

  init() throws(RelayError) {
    small = try BlockPool(blockBytes: Tuning.smallBlockBytes, count: Tuning.smallBlockCount)
    large = try BlockPool(blockBytes: Tuning.largeBlockBytes, count: Tuning.largeBlockCount)
    queues = try BlockPool(blockBytes: Tuning.sendQueueBlockBytes, count: Tuning.sendQueueBlockCount)
    precondition(SendQueue.blockBytesNeeded <= Tuning.sendQueueBlockBytes, "send-queue layout exceeds its block")
  }

  deinit {
    tlsReadScratch.deallocate()
    tlsGatherScratch.deallocate()
  }

  @inline(__always)
  func allocateQueueBlock() -> UnsafeMutableRawPointer? {
    queues.allocate(fallbackBudget: &fallbackBudget, fallbacks: &fallbacks)
  }

  @inline(__always)
  func freeQueueBlock(_ block: UnsafeMutableRawPointer) {
    queues.free(block, fallbackBudget: &fallbackBudget)
  }

  /// Largest frame a small block holds.
  static let smallFrameBytesMax = Tuning.smallBlockBytes - FrameBlock.headerBytes

  /// A block for a frame of `frameBytes`, header filled in; nil when out of memory.
  @inline(__always)
  func allocateFrame(frameBytes: Int) -> UnsafeMutableRawPointer? {
    let isLarge = frameBytes > PacketMemory.smallFrameBytesMax
    // Each pool called through its own property: a local `let pool = isLarge
    // ? large : small` is a second strong reference, and the compiler retained
    // and released it around the call, once per packet (perf: 1.5 % of the
    // plain relay's CPU in swift_retain/release).
    let allocated = isLarge
      ? large.allocate(fallbackBudget: &fallbackBudget, fallbacks: &fallbacks)
      : small.allocate(fallbackBudget: &fallbackBudget, fallbacks: &fallbacks)
    guard let block = allocated else { return nil }
    block.storeBytes(of: UInt32(truncatingIfNeeded: frameBytes), as: UInt32.self)
    block.storeBytes(of: isLarge ? 1 : 0, toByteOffset: 4, as: UInt8.self)
    return block
  }

  @inline(__always)
  func freeFrame(_ block: UnsafeMutableRawPointer) {
    if FrameBlock.isLarge(block) {
      large.free(block, fallbackBudget: &fallbackBudget)
    } else {
      small.free(block, fallbackBudget: &fallbackBudget)
    }
  }

  /// A raw small block (send-queue state); nil when out of memory.
  @inline(__always)
  func allocateSmallBlock() -> UnsafeMutableRawPointer? {
    small.allocate(fallbackBudget: &fallbackBudget, fallbacks: &fallbacks)
  }

  @inline(__always)
  func freeSmallBlock(_ block: UnsafeMutableRawPointer) {
    small.free(block, fallbackBudget: &fallbackBudget)
  }

  /// A raw large block (receive reassembly of a big frame).
  @inline(__always)
  func allocateLargeBlock() -> UnsafeMutableRawPointer? {
    large.allocate(fallbackBudget: &fallbackBudget, fallbacks: &fallbacks)
  }

  @inline(__always)
  func freeLargeBlock(_ block: UnsafeMutableRawPointer) {
    large.free(block, fallbackBudget: &fallbackBudget)
  }

  var bytesInUse: Int { small.bytesInUse + large.bytesInUse + queues.bytesInUse }

  func trimIfIdle() {
    small.trimIfIdle()
    large.trimIfIdle()
    queues.trimIfIdle()
  }
}
