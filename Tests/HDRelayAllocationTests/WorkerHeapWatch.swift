// Swift face of the CAllocCounter target: counts the heap calls of chosen
// threads (by kernel tid) between `start` and `stop`.
import CAllocCounter

struct HeapCounts: CustomStringConvertible {
  var allocations: UInt64 = 0
  var frees: UInt64 = 0
  var allocatedBytes: UInt64 = 0
  /// Of those, made directly by the attributed libraries (OpenSSL's).
  var libraryAllocations: UInt64 = 0
  var libraryFrees: UInt64 = 0

  /// The heap calls not made by the attributed library: the relay's own.
  var ownAllocations: UInt64 { allocations - libraryAllocations }
  var ownFrees: UInt64 { frees - libraryFrees }

  var description: String {
    "\(allocations) allocations (\(allocatedBytes) bytes), \(frees) frees; "
      + "of them by OpenSSL \(libraryAllocations) allocations, \(libraryFrees) frees"
  }
}

enum WorkerHeapWatch {
  /// Starts counting (from zero) the heap calls of these threads.
  static func start(threadIDs: [Int32]) {
    // OpenSSL allocates through CRYPTO_malloc in libcrypto (and CRYPTO_free
    // tail-calls free, so frees appear to come from libssl): count those apart.
    _ = hd_alloc_attribute_library("libcrypto.so")
    _ = hd_alloc_attribute_library("libssl.so")
    precondition(threadIDs.count <= Int(HD_ALLOC_WATCH_MAX), "at most \(HD_ALLOC_WATCH_MAX) threads")
    let watched = threadIDs.withUnsafeBufferPointer { hd_alloc_watch($0.baseAddress, Int32($0.count)) }
    precondition(Int(watched) == threadIDs.count)
  }

  /// Stops counting and returns the counts per watched thread (same order as `start`).
  static func stop(threadCount: Int) -> [HeapCounts] {
    hd_alloc_unwatch()
    return (0..<threadCount).map { i in
      let c = hd_alloc_counts_of(Int32(i))
      return HeapCounts(
        allocations: c.allocations, frees: c.frees, allocatedBytes: c.allocatedBytes,
        libraryAllocations: c.libraryAllocations, libraryFrees: c.libraryFrees)
    }
  }

  /// Call stacks of the first allocations of the last watch, on stderr.
  static func printFirstAllocationStacks() { hd_alloc_print_stacks(2) }

  static var currentThreadID: Int32 { hd_alloc_gettid() }
}

extension Array where Element == HeapCounts {
  var total: HeapCounts {
    reduce(into: HeapCounts()) {
      $0.allocations += $1.allocations
      $0.frees += $1.frees
      $0.allocatedBytes += $1.allocatedBytes
      $0.libraryAllocations += $1.libraryAllocations
      $0.libraryFrees += $1.libraryFrees
    }
  }
}
