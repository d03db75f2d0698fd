// The daemon handles SIGTERM, SIGINT and SIGHUP in exactly one place: the main
// thread blocks them before any other thread exists (threads inherit the mask,
// so no worker is ever interrupted) and then waits for them synchronously with
// sigtimedwait. No async-signal-safety puzzles, no handler races. SIGPIPE is
// ignored so a peer that vanished turns into EPIPE instead of killing us.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

public enum DaemonSignal: Sendable, Equatable {
  /// SIGTERM or SIGINT: stop gracefully.
  case terminate(name: String)
  /// SIGHUP: re-read the configuration.
  case reload

  init?(signalNumber: Int32) {
    switch signalNumber {
    case SIGTERM: self = .terminate(name: "SIGTERM")
    case SIGINT: self = .terminate(name: "SIGINT")
    case SIGHUP: self = .reload
    default: return nil
    }
  }
}

public enum SignalWaiter {
  static let handledSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

  /// Blocks the daemon's signals in the calling thread and ignores SIGPIPE.
  /// Call on the main thread before starting any other thread.
  public static func blockDaemonSignals() {
    var set = signalSet()
    pthread_sigmask(SIG_BLOCK, &set, nil)
    signal(SIGPIPE, SIG_IGN)
  }

  /// Waits up to `timeoutSeconds` for one of the daemon's signals; nil on
  /// timeout. The signals must be blocked (see `blockDaemonSignals`).
  public static func wait(timeoutSeconds: Double) -> DaemonSignal? {
    var set = signalSet()
    var timeout = timespec(
      tv_sec: Int(timeoutSeconds), tv_nsec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1e9))
    while true {
      let number = sigtimedwait(&set, nil, &timeout)
      if number < 0 {
        if errno == EINTR { continue }
        return nil  // EAGAIN: timed out
      }
      if let signal = DaemonSignal(signalNumber: number) { return signal }
    }
  }

  private static func signalSet() -> sigset_t {
    var set = sigset_t()
    sigemptyset(&set)
    for number in handledSignals { sigaddset(&set, number) }
    return set
  }
}
