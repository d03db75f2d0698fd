// `max_accept_rate`: one relay-wide token bucket shared by every worker's
// listener without a lock. Implemented as GCRA (generic cell rate algorithm):
// a single atomic "theoretical arrival time" in nanoseconds; a connection is
// admitted if that time is no more than one second (the burst) ahead of now.
@preconcurrency import Glibc
import CURing

final class AcceptRateLimiter: @unchecked Sendable {
  private let theoreticalArrival: UnsafeMutablePointer<UInt64>
  /// Nanoseconds per admitted connection; 0 = unlimited.
  private let intervalNanoseconds: UInt64
  /// Burst tolerance: one second's worth of connections.
  private let toleranceNanoseconds: UInt64 = 1_000_000_000

  init(perSecond: Int) {
    theoreticalArrival = .allocate(capacity: 1)
    theoreticalArrival.initialize(to: 0)
    intervalNanoseconds = perSecond > 0 ? UInt64(1_000_000_000 / perSecond) : 0
  }

  deinit { theoreticalArrival.deallocate() }

  /// True if a connection accepted now is within the rate.
  func admit() -> Bool {
    guard intervalNanoseconds > 0 else { return true }
    let now = monotonicNanoseconds()
    var expected = hd_load_relaxed(theoreticalArrival)
    while true {
      let start = max(expected, now)
      if start - now > toleranceNanoseconds - min(intervalNanoseconds, toleranceNanoseconds) { return false }
      if hd_compare_exchange(theoreticalArrival, &expected, start + intervalNanoseconds) != 0 { return true }
    }
  }
}

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
