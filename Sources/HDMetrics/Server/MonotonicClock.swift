// Deadlines for connections use CLOCK_MONOTONIC so wall-clock steps don't
// expire or prolong them.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

enum MonotonicClock {
  static func nowNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
  }
}

enum WallClock {
  /// Seconds since the Unix epoch.
  static func nowSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
  }
}
