// A plain detached pthread for lifecycle chores (the bounded stop), created
// after the daemon's signals are blocked so it inherits the mask.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

enum DaemonThread {
  /// Runs `body` on a new detached thread; false when the thread could not be created.
  static func spawn(_ body: @escaping () -> Void) -> Bool {
    guard case .success(let thread) = PlainThread.start(body) else { return false }
    pthread_detach(thread)
    return true
  }
}
