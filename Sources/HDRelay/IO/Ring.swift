// Thin wrapper over one io_uring instance, created and used by one thread.
@preconcurrency import Glibc
import CURing

/// The worker's io_uring. Not thread-safe by design: SINGLE_ISSUER rings must
/// be submitted to from the thread that created them.
final class Ring {
  var ring = io_uring()
  /// Setup flags the kernel accepted.
  let flags: UInt32
  /// Human-readable flag names, for logs and /debug/workers.
  let flagNames: String
  /// Why SQPOLL was not used although asked for (nil when not asked or when it worked).
  let sqpollRefusal: String?

  /// Creates the ring on the calling thread. With `sqpoll`, tries
  /// SQPOLL|SINGLE_ISSUER (the combination current kernels accept; COOP_TASKRUN
  /// and DEFER_TASKRUN are rejected with SQPOLL) and falls back with a reason.
  init(entries: UInt32, sqpoll: Bool) throws(RelayError) {
    let single = UInt32(IORING_SETUP_SINGLE_ISSUER)
    let defer_ = UInt32(IORING_SETUP_DEFER_TASKRUN)
    let coop = UInt32(IORING_SETUP_COOP_TASKRUN) | UInt32(IORING_SETUP_TASKRUN_FLAG)
    var ladder: [(UInt32, String)] = []
    if sqpoll { ladder.append((UInt32(IORING_SETUP_SQPOLL) | single, "SQPOLL|SINGLE_ISSUER")) }
    ladder.append((single | defer_, "SINGLE_ISSUER|DEFER_TASKRUN"))
    ladder.append((coop, "COOP_TASKRUN|TASKRUN_FLAG"))
    ladder.append((0, "none"))
    var refusal: String?
    var lastError: Int32 = 0
    for (index, (flags, name)) in ladder.enumerated() {
      let rc = hd_ring_init(&ring, entries, flags, Tuning.sqpollIdleMilliseconds)
      if rc == 0 {
        // Registered ring fd: io_uring_enter skips the fd table lookup and
        // reference (fget/fput) on every call. Optional: older kernels refuse it.
        _ = io_uring_register_ring_fd(&ring)
        self.flags = hd_ring_flags(&ring)
        self.flagNames = name
        self.sqpollRefusal = refusal
        return
      }
      lastError = -rc
      if sqpoll && index == 0 {
        refusal = "io_uring refused SQPOLL|SINGLE_ISSUER: \(errnoText(-rc))"
          + (rc == -EPERM ? " (SQPOLL needs CAP_SYS_NICE or root)" : "")
      }
    }
    throw RelayError.system("io_uring_queue_init", errno: lastError)
  }

  deinit {
    io_uring_queue_exit(&ring)
  }

  var usesDeferTaskrun: Bool { flags & UInt32(IORING_SETUP_DEFER_TASKRUN) != 0 }

  /// A free SQE; submits what is queued when the SQ is full. Never nil in
  /// practice: after a submit the SQ is empty.
  @inline(__always)
  func sqe() -> UnsafeMutablePointer<io_uring_sqe> {
    if let s = io_uring_get_sqe(&ring) { return s }
    _ = io_uring_submit(&ring)
    guard let s = io_uring_get_sqe(&ring) else { fatalError("io_uring SQ full right after submit") }
    return s
  }

  /// Submits queued SQEs and waits up to `timeoutNanoseconds` for one completion
  /// (0 = don't wait, just submit and collect).
  @inline(__always)
  func submitAndWait(timeoutNanoseconds: Int64) {
    if timeoutNanoseconds <= 0 {
      if usesDeferTaskrun {
        // One io_uring_enter that submits and runs the deferred completions
        // (was get_events then submit: two system calls per loop pass).
        _ = io_uring_submit_and_get_events(&ring)
      } else {
        _ = io_uring_submit(&ring)
      }
    } else {
      _ = hd_submit_and_wait_ns(&ring, timeoutNanoseconds)
    }
  }

  /// Submits queued SQEs without waiting.
  @inline(__always)
  func submitPending() {
    _ = io_uring_submit(&ring)
  }

  /// True when completions are ready. With DEFER_TASKRUN (or COOP_TASKRUN)
  /// they are posted only when this thread enters the kernel, so ask it to
  /// run the pending work first (one cheap system call, no wait).
  @inline(__always)
  func pollCompletions() -> Bool {
    if io_uring_cq_ready(&ring) > 0 { return true }
    if flags & UInt32(IORING_SETUP_SQPOLL) == 0 { _ = io_uring_get_events(&ring) }
    return io_uring_cq_ready(&ring) > 0
  }

  /// Copies up to `max` ready completions' (user_data, res, flags) into `out`.
  @inline(__always)
  func reap(into out: UnsafeMutablePointer<Completion>, max: Int) -> Int {
    var count = 0
    while count < max {
      var cqe: UnsafeMutablePointer<io_uring_cqe>?
      guard io_uring_peek_cqe(&ring, &cqe) == 0, let c = cqe else { break }
      out[count] = Completion(userData: c.pointee.user_data, result: c.pointee.res, flags: c.pointee.flags)
      io_uring_cqe_seen(&ring, c)
      count += 1
    }
    return count
  }
}

/// A completion copied out of the CQ so the slot can be reused at once.
struct Completion {
  var userData: UInt64
  var result: Int32
  var flags: UInt32

  var hasMore: Bool { flags & UInt32(IORING_CQE_F_MORE) != 0 }
  var hasBuffer: Bool { flags & UInt32(IORING_CQE_F_BUFFER) != 0 }
  var bufferID: Int { Int(flags >> UInt32(IORING_CQE_BUFFER_SHIFT)) }
}

/// strerror text for an errno value (control path only).
func errnoText(_ code: Int32) -> String {
  guard let text = strerror(code) else { return "errno \(code)" }
  return String(validatingCString: text) ?? "errno \(code)"
}
