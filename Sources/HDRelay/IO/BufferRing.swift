// The worker's provided-buffer ring for multishot recv, set up by hand because
// liburing 2.3 lacks io_uring_setup_buf_ring (platform.md).
@preconcurrency import Glibc
import CURing

/// `count` receive buffers of `bufferBytes` each, lent to the kernel and
/// returned by the worker right after it has consumed a completion's bytes.
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
    for id in 0..<count {
      io_uring_buf_ring_add(br, mem + id * bufferBytes, UInt32(bufferBytes), UInt16(id), mask, Int32(id))
    }
    io_uring_buf_ring_advance(br, Int32(count))
    lentToKernel = count
  }

  func release(ring: Ring) {
    hd_buf_ring_free(&ring.ring, ringPointer, UInt32(count), groupID)
    munmap(memory, count * bufferBytes)
  }

  /// Start of buffer `id`.
  @inline(__always)
  func buffer(_ id: Int) -> UnsafeMutableRawPointer { memory + id * bufferBytes }

  /// The kernel filled buffer `id`; the worker now owns it until `recycle`.
  @inline(__always)
  func tookFromKernel() { lentToKernel -= 1 }

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
  /// faulted in again as zero pages on the next receive.
  func trimResidentMemory() {
    _ = madvise(memory, count * bufferBytes, MADV_DONTNEED)
  }
}
