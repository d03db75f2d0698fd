// Thin io_uring wrapper for the load generator: one ring per engine thread,
// created on that thread (SINGLE_ISSUER), completions drained in batches.
import CURing
@preconcurrency import Glibc

final class Ring {
  var ring = io_uring()
  /// Completion batch drained per wake-up.
  static let cqeBatchMax = 256
  let cqes = UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>.allocate(capacity: Ring.cqeBatchMax)

  init(entries: UInt32) throws(BenchError) {
    var params = io_uring_params()
    // SINGLE_ISSUER|DEFER_TASKRUN: completions run only when we ask for them,
    // which batches task work (platform.md: works on this kernel).
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
    var rc = io_uring_queue_init_params(entries, &ring, &params)
    if rc < 0 {
      params = io_uring_params()
      rc = io_uring_queue_init_params(entries, &ring, &params)
    }
    guard rc >= 0 else { throw .system("io_uring_queue_init", -rc) }
  }

  var open = true

  /// Tears the ring down, cancelling outstanding requests, so buffers they
  /// point at may be freed afterwards.
  func close() {
    guard open else { return }
    open = false
    io_uring_queue_exit(&ring)
  }

  deinit {
    close()
    cqes.deallocate()
  }

  /// A submission slot; submits pending ones first if the queue is full.
  func sqe() -> UnsafeMutablePointer<io_uring_sqe> {
    if let s = io_uring_get_sqe(&ring) { return s }
    io_uring_submit(&ring)
    guard let s = io_uring_get_sqe(&ring) else { fatalError("io_uring submission queue stays full") }
    return s
  }

  func prepSend(fd: Int32, buffer: UnsafeRawPointer, bytes: Int, userData: UInt64) {
    let s = sqe()
    io_uring_prep_send(s, fd, buffer, bytes, Int32(MSG_NOSIGNAL))
    io_uring_sqe_set_data64(s, userData)
  }

  func prepRecv(fd: Int32, buffer: UnsafeMutableRawPointer, bytes: Int, userData: UInt64) {
    let s = sqe()
    io_uring_prep_recv(s, fd, buffer, bytes, 0)
    io_uring_sqe_set_data64(s, userData)
  }

  func prepConnect(fd: Int32, address: UnsafePointer<sockaddr>, length: socklen_t, userData: UInt64) {
    let s = sqe()
    io_uring_prep_connect(s, fd, address, length)
    io_uring_sqe_set_data64(s, userData)
  }

  /// Submits and waits for `waitCompletions` completions (at least one) or
  /// `timeoutNanoseconds`, then calls `handle(userData, result, flags)` for
  /// every completion. With DEFER_TASKRUN the kernel wakes us only when that
  /// many are ready, so a large count turns many wake-ups into one.
  @inline(__always)
  func submitAndDrain(timeoutNanoseconds: Int64, waitCompletions: Int = 1, _ handle: (UInt64, Int32, UInt32) -> Void) {
    var ts = __kernel_timespec(tv_sec: timeoutNanoseconds / 1_000_000_000, tv_nsec: timeoutNanoseconds % 1_000_000_000)
    var first: UnsafeMutablePointer<io_uring_cqe>?
    _ = io_uring_submit_and_wait_timeout(&ring, &first, UInt32(max(1, waitCompletions)), &ts, nil)
    while true {
      let n = io_uring_peek_batch_cqe(&ring, cqes, UInt32(Ring.cqeBatchMax))
      if n == 0 { break }
      for i in 0..<Int(n) {
        let cqe = cqes[i]!.pointee
        handle(cqe.user_data, cqe.res, cqe.flags)
      }
      io_uring_cq_advance(&ring, n)
    }
  }
}
