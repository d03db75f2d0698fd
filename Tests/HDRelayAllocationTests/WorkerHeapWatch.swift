// Swift face of the CAllocCounter target: counts the heap calls of chosen
// threads (by kernel tid) between `start` and `stop`.
import CAllocCounter

struct HeapCounts: CustomStringConvertible {
  var allocations: UInt64 = 0
  var frees: UInt64 = 0
  var allocatedBytes: UInt64 = 0

  var description: String { "\(allocations) allocations (\(allocatedBytes) bytes), \(frees) frees" }
}

enum WorkerHeapWatch {
  /// Starts counting (from zero) the heap calls of these threads.
  static func start(threadIDs: [Int32]) {
    precondition(threadIDs.count <= Int(HD_ALLOC_WATCH_MAX), "at most \(HD_ALLOC_WATCH_MAX) threads")
    let watched = threadIDs.withUnsafeBufferPointer { hd_alloc_watch($0.baseAddress, Int32($0.count)) }
    precondition(Int(watched) == threadIDs.count)
  }

  /// Stops counting and returns the counts per watched thread (same order as `start`).
  static func stop(threadCount: Int) -> [HeapCounts] {
    hd_alloc_unwatch()
    return (0..<threadCount).map { i in
      let c = hd_alloc_counts_of(Int32(i))
      return HeapCounts(allocations: c.allocations, frees: c.frees, allocatedBytes: c.allocatedBytes)
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
    }
  }
}
