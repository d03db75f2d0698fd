// verify_clients.url: asks an admission controller about each new client off
// the data plane. Per worker, a request ring (worker → verifier) and a result
// ring (verifier → worker), both the cross-worker XferRing: the worker side
// is lock-free and never waits. The verifier threads share each ring's far
// end under a mutex (they may block; the worker never takes these locks).
// A result wakes its worker through the same eventfd/sleep-flag handshake as
// cross-worker records (RelayShared.wake).
@preconcurrency import Glibc
import HDConfig
import HDProtocol
import HDTLS
import Synchronization

final class ClientVerifier: @unchecked Sendable {
  /// Verifier threads: concurrent requests to the controller.
  static let threadCount = 4
  /// Verifications waiting or in flight per worker; more count as queue_full.
  static let pendingPerWorkerMaxDefault = 1024
  let pendingPerWorkerMax: Int
  static let requestRingBytes = 1 << 17
  static let resultRingBytes = 1 << 16
  static let resultBodyBytes = 16
  static let resultType: UInt8 = 1

  let client: VerifyHTTPClient
  let failOpen: Bool
  let timeoutNanoseconds: UInt64
  /// requests[w]: produced by worker w only.
  let requests: [XferRing]
  /// results[w]: consumed by worker w only.
  let results: [XferRing]
  /// Worker-side state, touched only by worker w: connections waiting for an answer.
  let waiting: [VerifyWaiting]
  private let requestLock = Mutex<Int>(0)
  /// Serializes the verifier threads as producers of the result rings.
  private let resultLock = Mutex<Void>(())
  /// Counts queued requests; verifier threads sleep on it.
  private let queued: UnsafeMutablePointer<sem_t>
  private let stopFlag = Atomic<Bool>(false)
  private var threads: [pthread_t] = []
  private let wake: @Sendable (Int) -> Void

  init(url: HTTPURL, trust: TLSTrust = .openSSLDefaults, failOpen: Bool, timeoutSeconds: Double,
       pendingPerWorkerMax: Int, workerCount: Int, wake: @escaping @Sendable (Int) -> Void) {
    client = VerifyHTTPClient(url: url, trust: trust)
    self.pendingPerWorkerMax = max(1, pendingPerWorkerMax)
    self.failOpen = failOpen
    timeoutNanoseconds = UInt64(max(0.001, timeoutSeconds) * 1e9)
    requests = (0..<workerCount).map { _ in XferRing(capacity: ClientVerifier.requestRingBytes) }
    results = (0..<workerCount).map { _ in XferRing(capacity: ClientVerifier.resultRingBytes) }
    waiting = (0..<workerCount).map { _ in VerifyWaiting() }
    self.wake = wake
    queued = .allocate(capacity: 1)
    sem_init(queued, 0, 0)
  }

  deinit {
    sem_destroy(queued)
    queued.deallocate()
  }

  // MARK: Threads (control plane)

  func start() throws(RelayError) {
    // https controllers: OpenSSL writes through write(2), and a controller
    // that went away must not SIGPIPE the relay.
    if client.url.isHTTPS { signal(SIGPIPE, SIG_IGN) }
    for i in 0..<ClientVerifier.threadCount {
      switch PlainThread.start(name: "hd-verify-\(i)", { self.run() }) {
      case .success(let t): threads.append(t)
      case .failure(let why):
        stop()
        throw RelayError.system("pthread_create for client verifier \(i)", errno: why.errno)
      }
    }
  }

  /// Stops the threads (an exchange in progress ends within a poll slice).
  func stop() {
    stopFlag.store(true, ordering: .sequentiallyConsistent)
    for _ in threads { sem_post(queued) }
    for t in threads { pthread_join(t, nil) }
    threads = []
  }

  var stopping: Bool { stopFlag.load(ordering: .relaxed) }

  /// For the start-up log line.
  var summary: String {
    let scheme = client.url.isHTTPS ? "https" : "http"
    return "verify_clients: asking \(scheme)://\(client.url.hostHeader)\(client.url.pathAndQuery) about each client "
      + "(timeout \(Double(timeoutNanoseconds) / 1e9) s, fail_open \(failOpen)"
      + (client.url.isHTTPS ? ", trusting \(client.trust))" : ")")
  }

  private func run() {
    while !stopping {
      guard sem_wait(queued) == 0 else { continue }  // EINTR
      guard !stopping, let (worker, request) = take() else { continue }
      let deadline = request.submittedNanoseconds + timeoutNanoseconds
      // Waited out its whole timeout in the queue (controller stalled): decide now.
      let outcome = monotonicNanoseconds() >= deadline
        ? .failed(.timeout) : client.post(request.jsonBody, deadlineNanoseconds: deadline, stop: { self.stopping })
      deliver(worker: worker, location: request.location, outcome: outcome)
    }
  }

  /// One queued request from any worker (round robin so none starves).
  private func take() -> (Int, VerifyRequest)? {
    requestLock.withLock { next -> (Int, VerifyRequest)? in
      for i in 0..<requests.count {
        let w = (next + i) % requests.count
        var found: VerifyRequest? = nil
        _ = requests[w].consume(max: 1) { _, body, _ in
          found = VerifyRequest(body: body)
          return true
        }
        if let request = found {
          next = (w + 1) % requests.count
          return (w, request)
        }
      }
      return nil
    }
  }

  private func deliver(worker w: Int, location: UInt64, outcome: VerifyOutcome) {
    // Never full: results in flight are bounded by pendingPerWorkerMax (the
    // result ring holds 2730 records, more than the default 1024); the
    // loop only covers a worker that stopped draining (relay stopping).
    while !stopping {
      let pushed = resultLock.withLock { _ -> Bool in
        guard let body = results[w].reserve(type: ClientVerifier.resultType, bodyBytes: ClientVerifier.resultBodyBytes)
        else { return false }
        body.storeBytes(of: location, as: UInt64.self)
        body.storeBytes(of: UInt64(outcome.code), toByteOffset: 8, as: UInt64.self)
        results[w].commit()
        return true
      }
      if pushed { break }
      usleep(1000)
    }
    wake(w)
  }

  // MARK: Worker side (worker w's thread only; never blocks)

  /// Queues a request; false when the bounded queue is full.
  func submit(worker w: Int, _ request: VerifyRequest) -> Bool {
    var request = request
    request.submittedNanoseconds = monotonicNanoseconds()
    guard waiting[w].count < pendingPerWorkerMax,
      let body = requests[w].reserve(type: 1, bodyBytes: VerifyRequest.bodyBytes)
    else { return false }
    request.write(to: body)
    requests[w].commit()
    sem_post(queued)
    return true
  }

  /// Hands each waiting result of worker `w` to `body(location, outcome)`.
  @inline(__always)
  func drainResults(worker w: Int, _ body: (UInt64, VerifyOutcome) -> Void) {
    while results[w].consume(max: 64, { _, p, _ in
      body(p.load(as: UInt64.self), VerifyOutcome(code: UInt8(truncatingIfNeeded: p.load(fromByteOffset: 8, as: UInt64.self))))
      return true
    }) == 64 {}
  }
}

/// Connections of one worker waiting for the controller: location → the
/// handshake's shared key (ServerInfo is sealed with it once allowed).
final class VerifyWaiting: @unchecked Sendable {
  var boxes: [UInt64: NaClBox.SharedKey] = [:]
  var count: Int { boxes.count }
}

extension ClientVerifier {
  /// The verifier for `options`, or nil when verify_clients.url is unset.
  static func make(options: RelayOptions, wake: @escaping @Sendable (Int) -> Void) throws(RelayError) -> ClientVerifier? {
    guard let text = options.config.verifyClients.url else { return nil }
    let url: HTTPURL
    switch HTTPURL.parse(text) {
    case .failure(let why): throw RelayError("verify_clients.url: \(why)")
    case .success(let parsed): url = parsed
    }
    return ClientVerifier(url: url, trust: options.outboundTrust,
                          failOpen: options.config.verifyClients.failOpen,
                          timeoutSeconds: options.verifyTimeoutSeconds, pendingPerWorkerMax: options.verifyPendingPerWorkerMax,
                          workerCount: options.workerCount, wake: wake)
  }
}
