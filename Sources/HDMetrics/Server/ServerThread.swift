// The metrics server loop runs on a plain thread: it must not share the Swift
// concurrency pool or any data-plane thread, and it blocks in poll(2).
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif
import HDRelay

enum ServerThread {
  /// Starts `body` on a new thread named `name` (visible in `ps -L`; cut to 15 bytes).
  static func start(name: String, _ body: @escaping () -> Void) throws(MetricsServerError) -> pthread_t {
    switch PlainThread.start(name: name, body) {
    case .success(let thread): return thread
    case .failure(let why): throw .system("pthread_create", errno: why.errno)
    }
  }
}
