// Fixed-size blocks for packet frames, send-queue state and receive
// reassembly, owned by one worker. Address space is reserved up front; pages
// are touched only as blocks are first used (bump allocation), freed blocks
// go to an intrusive free list, and a completely idle pool gives its pages
// back to the kernel, so idle connections cost no packet memory.
@preconcurrency import Glibc

/// A pool of `count` blocks of `blockBytes`, with a counted heap fallback.
final class BlockPool {
  let blockBytes: Int
  let count: Int
  private let region: UnsafeMutableRawPointer
  private let regionBytes: Int
  /// Blocks never handed out yet start here (bump pointer, in blocks).
  private var fresh: Int = 0
  /// Head of the intrusive free list (first 8 bytes of a free block), or nil.
  private var freeHead: UnsafeMutableRawPointer?
  /// Blocks handed out and not returned, pool and heap fallback together.
  private(set) var inUse: Int = 0
  /// Heap fallback blocks alive now.
  private(set) var fallbackInUse: Int = 0

  init(blockBytes: Int, count: Int) throws(RelayError) {
    // 16-byte alignment for every block.
    self.blockBytes = (blockBytes + 15) & ~15
    self.count = count
    regionBytes = self.blockBytes * count
    guard let mem = mmap(nil, regionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
      mem != MAP_FAILED
    else { throw RelayError.system("mmap packet pool", errno: errno) }
    region = mem
  }

  deinit {
    munmap(region, regionBytes)
  }

  /// A block, or nil when the pool and the fallback budget are exhausted.
  /// `fallbacks` is bumped when the heap had to be used.
  @inline(__always)
  func allocate(fallbackBudget: inout Int, fallbacks: inout UInt64) -> UnsafeMutableRawPointer? {
    if let block = freeHead {
      freeHead = block.load(as: UnsafeMutableRawPointer?.self)
      inUse += 1
      return block
    }
    if fresh < count {
      let block = region + fresh * blockBytes
      fresh += 1
      inUse += 1
      return block
    }
    guard fallbackBudget >= blockBytes, let block = malloc(blockBytes) else { return nil }
    fallbackBudget -= blockBytes
    fallbacks &+= 1
    fallbackInUse += 1
    inUse += 1
    return block
  }

  /// Returns a block from `allocate`.
  @inline(__always)
  func free(_ block: UnsafeMutableRawPointer, fallbackBudget: inout Int) {
    inUse -= 1
    if block >= region && block < region + regionBytes {
      block.storeBytes(of: freeHead, as: UnsafeMutableRawPointer?.self)
      freeHead = block
    } else {
      Glibc.free(block)
      fallbackInUse -= 1
      fallbackBudget += blockBytes
    }
  }

  /// True if `block` belongs to this pool's region or could be one of its fallbacks;
  /// callers tag blocks with their pool instead, this is for assertions.
  func owns(_ block: UnsafeMutableRawPointer) -> Bool { block >= region && block < region + regionBytes }

  /// Bytes of blocks in use (for /debug/workers).
  var bytesInUse: Int { inUse * blockBytes }

  /// When nothing is in use, forgets the free list and gives all touched
  /// pages back; the next allocations fault in fresh zero pages.
  func trimIfIdle() {
    guard inUse == 0, fresh > 0 else { return }
    _ = madvise(region, fresh * blockBytes, MADV_DONTNEED)
    fresh = 0
    freeHead = nil
  }
}
