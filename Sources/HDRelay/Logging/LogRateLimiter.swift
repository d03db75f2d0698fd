// Keeps a log line that the network can trigger (accept limit hit, malformed
// frames, …) from flooding the log: a token bucket per call site, and a count
// of what was suppressed so the next line can say so.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import HDConfig
import Synchronization

public final class LogRateLimiter: Sendable {
  private struct State {
    var tokens: Double
    var lastRefillNanoseconds: UInt64
    var suppressed: Int
  }

  private let perSecond: Double
  private let burst: Double
  private let state: Mutex<State>

  public init(perSecond: Double = 1, burst: Int = 3) {
    self.perSecond = perSecond
    self.burst = Double(burst)
    state = Mutex(State(tokens: Double(burst), lastRefillNanoseconds: LogRateLimiter.monotonicNanoseconds(), suppressed: 0))
  }

  /// Returns nil when the line must be dropped, else how many lines were
  /// suppressed since the last one that got through.
  public func admit(nowNanoseconds: UInt64 = LogRateLimiter.monotonicNanoseconds()) -> Int? {
    state.withLock { state in
      let elapsed = Double(nowNanoseconds &- state.lastRefillNanoseconds) / 1e9
      state.lastRefillNanoseconds = nowNanoseconds
      state.tokens = min(burst, state.tokens + elapsed * perSecond)
      guard state.tokens >= 1 else {
        state.suppressed += 1
        return nil
      }
      state.tokens -= 1
      let suppressed = state.suppressed
      state.suppressed = 0
      return suppressed
    }
  }

  public static func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
  }
}

extension Logger {
  /// Logs through `limiter`; a line that gets through after suppressed ones
  /// carries `suppressed=N`.
  public func limited(
    _ limiter: LogRateLimiter, _ level: LogLevel, _ message: @autoclosure () -> String
  ) {
    guard sink.isEnabled(level), let suppressed = limiter.admit() else { return }
    if suppressed > 0 {
      log(level, message(), ["suppressed": String(suppressed)])
    } else {
      log(level, message())
    }
  }
}
