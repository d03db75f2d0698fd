// The metrics server's event loop: one thread, poll(2) over the listening
// sockets, a pipe that wakes it for stop, and every client connection.
// Scrapes are rendered here too, so a slow client or an expensive scrape can
// only ever delay other metrics clients, never a data-plane worker.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

final class MetricsServerLoop {
  struct Settings {
    var limits = ConnectionLimits()
    /// Connections beyond this are accepted and closed at once, so a flood of
    /// idle clients costs bounded memory and descriptors.
    var maxConnections = 64
  }

  private let listeners: [ListenSocket]
  private let wakeFD: Int32
  /// The context new connections get; replaced on SIGHUP reload.
  private let tls: MetricsTLSSlot
  private let settings: Settings
  private let shouldStop: () -> Bool
  private var connections: [HTTPConnection] = []
  /// After accept(2) fails for lack of descriptors or memory, listeners are
  /// not polled until this time (CLOCK_MONOTONIC nanoseconds).
  private var acceptPausedUntilNanoseconds: UInt64 = 0
  static let acceptPauseNanoseconds: UInt64 = 100_000_000
  /// Read and updated only on the loop thread; /metrics reports them.
  private(set) var counters = MetricsServerCounters()
  /// Set by the owner before `run()`; captures the router.
  var handler: RequestHandler = { _ in .text(.internalServerError, "no handler") }

  init(
    listeners: [ListenSocket], wakeFD: Int32, tls: MetricsTLSSlot, settings: Settings,
    shouldStop: @escaping () -> Bool
  ) {
    self.listeners = listeners
    self.wakeFD = wakeFD
    self.tls = tls
    self.settings = settings
    self.shouldStop = shouldStop
  }

  func run() {
    var pollSet: [pollfd] = []
    while !shouldStop() {
      pollSet.removeAll(keepingCapacity: true)
      pollSet.append(pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0))
      // While accepting is paused the listeners are polled for nothing (events 0)
      // so the indices below stay the same.
      let listenerEvents = MonotonicClock.nowNanoseconds() >= acceptPausedUntilNanoseconds ? Int16(POLLIN) : 0
      for listener in listeners { pollSet.append(pollfd(fd: listener.fd, events: listenerEvents, revents: 0)) }
      for connection in connections {
        let events = connection.waitsForWrite ? POLLOUT : POLLIN
        pollSet.append(pollfd(fd: connection.transport.fd, events: Int16(events), revents: 0))
      }
      let rc = poll(&pollSet, nfds_t(pollSet.count), pollTimeoutMilliseconds())
      if rc < 0 && errno != EINTR { break }
      let now = MonotonicClock.nowNanoseconds()
      if pollSet[0].revents != 0 { drainWakeFD() }
      // Connections first, in the order they were polled, then new ones:
      // the indices of `pollSet` match `connections` only before accepting.
      let connectionBase = 1 + listeners.count
      for (index, connection) in connections.enumerated() where pollSet[connectionBase + index].revents != 0 {
        connection.service(now: now, handler: handler)
      }
      for (index, listener) in listeners.enumerated() where pollSet[1 + index].revents & Int16(POLLIN) != 0 {
        acceptAll(listener, now: now)
      }
      expireDeadlines(now: now)
      connections.removeAll { $0.isClosed }
      counters.connectionsOpen = connections.count
    }
    // The loop owns its sockets: the listeners and the wake pipe's read end.
    for connection in connections { connection.close() }
    connections.removeAll()
    for listener in listeners { close(listener.fd) }
    close(wakeFD)
  }

  private func pollTimeoutMilliseconds() -> Int32 {
    let now = MonotonicClock.nowNanoseconds()
    var deadlines = connections.map(\.deadlineNanoseconds)
    if acceptPausedUntilNanoseconds > now { deadlines.append(acceptPausedUntilNanoseconds) }
    guard let earliest = deadlines.min() else { return -1 }
    guard earliest > now else { return 0 }
    // Round up so we never wake just before the deadline and spin.
    return Int32(min((earliest - now + 999_999) / 1_000_000, 60_000))
  }

  private func acceptAll(_ listener: ListenSocket, now: UInt64) {
    while true {
      // accept4 is hidden from Swift's Glibc module; the flags are set right after.
      let fd = accept(listener.fd, nil, nil)
      if fd < 0 {
        let code = errno
        if code == EINTR || code == ECONNABORTED { continue }
        // EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays in the backlog
        // and the listener stays readable, so polling it again at once would
        // spin. Pause accepting briefly; served connections carry on.
        if code != EAGAIN && code != EWOULDBLOCK {
          acceptPausedUntilNanoseconds = now + Self.acceptPauseNanoseconds
        }
        return
      }
      if connections.count >= settings.maxConnections {
        counters.connectionsRejected += 1
        close(fd)
        continue
      }
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
      var one: Int32 = 1
      setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
      let transport = ConnectionTransport(fd: fd, tls: tls.current)
      guard transport.isUsable else {
        close(fd)
        continue
      }
      counters.connectionsAccepted += 1
      let connection = HTTPConnection(transport: transport, limits: settings.limits, now: now) {
        [unowned self] status in
        self.counters.responses[status, default: 0] += 1
      }
      connections.append(connection)
      // The request may already be waiting (e.g. sent with the handshake).
      connection.service(now: now, handler: handler)
    }
  }

  private func expireDeadlines(now: UInt64) {
    for connection in connections where !connection.isClosed && connection.deadlineNanoseconds <= now {
      connection.expire()
    }
  }

  private func drainWakeFD() {
    // Only stop() writes or closes the other end; the flag says what to do.
    var bytes = [UInt8](repeating: 0, count: 64)
    while bytes.withUnsafeMutableBytes({ read(wakeFD, $0.baseAddress, $0.count) }) > 0 {}
  }
}
