// A worker's packet memory: small and large block pools with one shared heap
// fallback budget. Frames are stored in blocks with a 16-byte header in
// front: frame length and which pool the block came from. A frame sent in
// place from a receive buffer (Worker+Forward) has only the header, in a
// small block, pointing at its bytes there.

/// Header layout of a frame block: [frameBytes: UInt32][kind: UInt8][tag: UInt8 (FrameTag)][recvBuffer: UInt16] at 0,
/// then either the frame at 16, or (kind `inReceiveBuffer`) the frame's address at 8.
enum FrameBlock {
  static let headerBytes = 16

  /// Where a frame block came from, and so where its bytes are.
  enum Kind: UInt8 {
    case small = 0
    case large = 1
    /// A small block holding only the header; the bytes are in a receive buffer.
    case inReceiveBuffer = 2
  }

  @inline(__always) static func kind(_ block: UnsafeMutableRawPointer) -> UInt8 {
    block.load(fromByteOffset: 4, as: UInt8.self)
  }
  @inline(__always) static func data(_ block: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
    kind(block) == Kind.inReceiveBuffer.rawValue
      ? block.load(fromByteOffset: 8, as: UnsafeMutableRawPointer.self) : block + headerBytes
  }
  @inline(__always) static func frameBytes(_ block: UnsafeMutableRawPointer) -> Int {
    Int(block.load(as: UInt32.self))
  }
  /// The receive buffer an in-place frame points into.
  @inline(__always) static func receiveBuffer(_ block: UnsafeMutableRawPointer) -> Int {
    Int(block.load(fromByteOffset: 6, as: UInt16.self))
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
    block.storeBytes(of: (isLarge ? FrameBlock.Kind.large : .small).rawValue, toByteOffset: 4, as: UInt8.self)
    return block
  }

  /// A header block for the `frameBytes` at `frame` in receive buffer
  /// `receiveBuffer`; nil when out of memory.
  @inline(__always)
  func allocateFrame(frameBytes: Int, at frame: UnsafeMutableRawPointer, receiveBuffer: Int) -> UnsafeMutableRawPointer? {
    guard let block = small.allocate(fallbackBudget: &fallbackBudget, fallbacks: &fallbacks) else { return nil }
    block.storeBytes(of: UInt32(truncatingIfNeeded: frameBytes), as: UInt32.self)
    block.storeBytes(of: FrameBlock.Kind.inReceiveBuffer.rawValue, toByteOffset: 4, as: UInt8.self)
    block.storeBytes(of: UInt16(truncatingIfNeeded: receiveBuffer), toByteOffset: 6, as: UInt16.self)
    block.storeBytes(of: frame, toByteOffset: 8, as: UnsafeMutableRawPointer.self)
    return block
  }

  /// Frees a frame block. Returns the receive buffer the frame pointed into
  /// (the caller releases its hold, Worker.freeFrame), or -1.
  @inline(__always)
  func freeFrame(_ block: UnsafeMutableRawPointer) -> Int {
    switch FrameBlock.kind(block) {
    case FrameBlock.Kind.large.rawValue:
      large.free(block, fallbackBudget: &fallbackBudget)
      return -1
    case FrameBlock.Kind.inReceiveBuffer.rawValue:
      let receiveBuffer = FrameBlock.receiveBuffer(block)
      small.free(block, fallbackBudget: &fallbackBudget)
      return receiveBuffer
    default:
      small.free(block, fallbackBudget: &fallbackBudget)
      return -1
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
