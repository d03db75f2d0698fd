// The worker's provided-buffer ring for multishot recv, set up by hand because
// liburing 2.3 lacks io_uring_setup_buf_ring (platform.md).
@preconcurrency import Glibc
import CURing

/// `count` receive buffers of `bufferBytes` each, lent to the kernel and
/// returned by the worker once it has consumed a completion's bytes and every
/// queued frame sent straight from the buffer (in place, Worker+Forward) has
/// left: each buffer counts its holds, the receive's own plus one per frame.
final class BufferRing {
  let groupID: Int32
  let count: Int
  let bufferBytes: Int
  private let ringPointer: UnsafeMutablePointer<io_uring_buf_ring>
  /// One contiguous mmap'ed region: pages are touched only as the kernel fills them.
  let memory: UnsafeMutableRawPointer
  private let mask: Int32
  /// Buffers currently owned by the kernel (lent and not yet completed).
  private(set) var lentToKernel: Int
  /// Holds per buffer while the worker owns it: the receive being handled and
  /// each queued frame that points into it.
  private let holds: UnsafeMutablePointer<UInt32>
  /// Buffers kept from the kernel after their receive was handled, because
  /// queued frames still point into them.
  private(set) var heldForFrames: Int = 0

  init(ring: Ring, groupID: Int32, count: Int, bufferBytes: Int) throws(RelayError) {
    precondition(count > 0 && count & (count - 1) == 0, "buffer ring size must be a power of two")
    let regionBytes = count * bufferBytes
    guard let mem = mmap(nil, regionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      mem != MAP_FAILED
    else { throw RelayError.system("mmap receive buffers", errno: errno) }
    var err: Int32 = 0
    guard let br = hd_buf_ring_setup(&ring.ring, UInt32(count), groupID, &err) else {
      munmap(mem, regionBytes)
      throw RelayError.system("io_uring_register_buf_ring", errno: -err)
    }
    self.groupID = groupID
    self.count = count
    self.bufferBytes = bufferBytes
    self.ringPointer = br
    self.memory = mem
    self.mask = io_uring_buf_ring_mask(UInt32(count))
    self.lentToKernel = 0
    self.holds = .allocate(capacity: count)
    self.holds.initialize(repeating: 0, count: count)
    for id in 0..<count {
      io_uring_buf_ring_add(br, mem + id * bufferBytes, UInt32(bufferBytes), UInt16(id), mask, Int32(id))
    }
    io_uring_buf_ring_advance(br, Int32(count))
    lentToKernel = count
  }

  func release(ring: Ring) {
    hd_buf_ring_free(&ring.ring, ringPointer, UInt32(count), groupID)
    munmap(memory, count * bufferBytes)
    holds.deallocate()
  }

  /// Start of buffer `id`.
  @inline(__always)
  func buffer(_ id: Int) -> UnsafeMutableRawPointer { memory + id * bufferBytes }

  /// The kernel filled buffer `id`; the worker now owns it until `recycle`.
  @inline(__always)
  func tookFromKernel() { lentToKernel -= 1 }

  /// Buffer `id`'s bytes are being handled: the receive holds it.
  @inline(__always)
  func beginHandling(_ id: Int) { holds[id] = 1 }

  /// A queued frame points into buffer `id` (which is being handled).
  @inline(__always)
  func holdForFrame(_ id: Int) { holds[id] += 1 }

  /// The receive is done with buffer `id`: back to the kernel unless frames still point into it.
  @inline(__always)
  func endHandling(_ id: Int) {
    holds[id] -= 1
    if holds[id] == 0 {
      recycle(id)
    } else {
      heldForFrames += 1
    }
  }

  /// A frame that pointed into buffer `id` was sent or dropped. The
  /// receive's own hold outlives every frame taken during it, so reaching
  /// zero here means the receive already ended.
  @inline(__always)
  func releaseFrame(_ id: Int) {
    holds[id] -= 1
    if holds[id] == 0 {
      heldForFrames -= 1
      recycle(id)
    }
  }

  /// Whether `pointer ..< pointer + bytes` lies inside buffer `id`.
  @inline(__always)
  func contains(_ id: Int, _ pointer: UnsafeRawPointer, bytes: Int) -> Bool {
    let start = UnsafeRawPointer(buffer(id))
    return pointer >= start && pointer + bytes <= start + bufferBytes
  }

  /// Lends buffer `id` back to the kernel.
  @inline(__always)
  func recycle(_ id: Int) {
    io_uring_buf_ring_add(ringPointer, buffer(id), UInt32(bufferBytes), UInt16(id), mask, 0)
    io_uring_buf_ring_advance(ringPointer, 1)
    lentToKernel += 1
  }

  /// Enough buffers are back that re-arming a starved multishot recv is worthwhile.
  var hasRearmShare: Bool { lentToKernel >= count / Tuning.recvRearmFreeDivisor }

  /// Gives the pages of the (idle) buffers back to the kernel; they are
  /// faulted in again as zero pages on the next receive. Never while a
  /// queued frame still points into one.
  func trimResidentMemory() {
    guard heldForFrames == 0 else { return }
    _ = madvise(memory, count * bufferBytes, MADV_DONTNEED)
  }
}
