// A plain pthread for the metrics server loop: it must not share the Swift
// concurrency pool or any data-plane thread, and it blocks in poll(2).
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

/// Moves the loop body into the new thread.
private final class ThreadBody: @unchecked Sendable {
  let run: () -> Void
  init(_ run: @escaping () -> Void) { self.run = run }
}

enum ServerThread {
  /// Starts `body` on a new thread named `name` (visible in `ps -L`; cut to 15 bytes).
  static func start(name: String, _ body: @escaping () -> Void) throws(MetricsServerError) -> pthread_t {
    let threadName = String(name.utf8.prefix(15))!
    let box = Unmanaged.passRetained(
      ThreadBody({
        nameCurrentThread(threadName)
        body()
      })
    ).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(
      &thread, nil,
      { context in
        let body = Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue()
        body.run()
        return nil
      }, box)
    guard rc == 0 else {
      Unmanaged<ThreadBody>.fromOpaque(box).release()
      throw .system("pthread_create", errno: rc)
    }
    return thread
  }
}

/// pthread_setname_np is a GNU extension Swift's Glibc module does not show;
/// /proc/thread-self/comm is the same kernel field.
private func nameCurrentThread(_ name: String) {
  let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
  guard fd >= 0 else { return }
  _ = Array(name.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  close(fd)
}
