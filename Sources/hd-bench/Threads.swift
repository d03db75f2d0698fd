// Minimal threads for the blocking (TLS) engine and background load, without
// Foundation: a pthread running a Sendable closure, joined explicitly.
@preconcurrency import Glibc

final class ThreadBody: @unchecked Sendable {
  let body: @Sendable () -> Void
  init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

struct JoinableThread {
  var handle: pthread_t

  static func spawn(_ body: @escaping @Sendable () -> Void) -> JoinableThread {
    let box = Unmanaged.passRetained(ThreadBody(body))
    var handle = pthread_t()
    let rc = pthread_create(&handle, nil, { arg in
      let body = Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue()
      body.body()
      return nil
    }, box.toOpaque())
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return JoinableThread(handle: handle)
  }

  func join() { pthread_join(handle, nil) }
}

/// Moves a non-Sendable value to exactly one other thread.
final class Handoff<T>: @unchecked Sendable {
  var value: T
  init(_ value: T) { self.value = value }
}
