// Plain pthreads for the loops that must not share Swift's cooperative pool
// (the admission verifier, the STUN responder, mesh links, the metrics server,
// lifecycle chores): one place that moves a closure into the new thread and
// names it.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

public enum PlainThread {
  private final class Body {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
  }

  /// Starts `body` on a new joinable thread, named `name` when given (visible
  /// in `ps -L`; cut to 15 bytes). Returns the thread, or pthread_create's errno.
  public static func start(name: String? = nil, _ body: @escaping () -> Void) -> Result<pthread_t, ThreadStartError> {
    let threadName = name.map { String($0.utf8.prefix(15))! }
    let box = Unmanaged.passRetained(
      Body({
        if let threadName { nameCurrentThread(threadName) }
        body()
      })
    ).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { context in
      Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
      return nil
    }, box)
    guard rc == 0 else {
      Unmanaged<Body>.fromOpaque(box).release()
      return .failure(ThreadStartError(errno: rc))
    }
    return .success(thread)
  }

  /// pthread_setname_np is a GNU extension Swift's Glibc module does not show;
  /// /proc/thread-self/comm is the same kernel field.
  private static func nameCurrentThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    _ = Array(name.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
  }
}

/// pthread_create refused (EAGAIN: thread or memory limits).
public struct ThreadStartError: Error, Sendable {
  public let errno: Int32
}
