// A plain detached pthread for lifecycle chores (the bounded stop), created
// after the daemon's signals are blocked so it inherits the mask.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

enum DaemonThread {
  private final class Box {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
  }

  /// Runs `body` on a new detached thread; false when the thread could not be created.
  static func spawn(_ body: @escaping () -> Void) -> Bool {
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { argument in
      let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
      box.body()
      return nil
    }, box)
    guard rc == 0 else {
      Unmanaged<Box>.fromOpaque(box).release()
      return false
    }
    pthread_detach(thread)
    return true
  }
}
