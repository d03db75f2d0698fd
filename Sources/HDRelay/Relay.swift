// The relay: starts the workers and their listeners, stops them gracefully,
// and answers the control-plane questions (stats, peers, workers) off the
// data path.
@preconcurrency import Glibc
import CURing
import HDConfig
import HDProtocol
import Synchronization

/// A DERP relay on io_uring workers.
public final class Relay: @unchecked Sendable {
  public let options: RelayOptions
  private let shared: RelayShared
  private let workers: [Worker]
  private let state = Mutex<LifeState>(.created)
  private var listenerFDs: [Int32] = []
  private var bound: [(String, Int)] = []

  private enum LifeState { case created, running, stopped }

  /// Validates the options and prepares (but does not start) the workers.
  public init(options: RelayOptions) throws {
    guard options.workerCount > 0 else { throw RelayError("workerCount must be > 0, got \(options.workerCount)") }
    guard options.workerCount <= 64 else { throw RelayError("workerCount must be ≤ 64, got \(options.workerCount)") }
    if let pins = options.pinCores, pins.count < options.workerCount {
      throw RelayError("pin_cores lists \(pins.count) cores for \(options.workerCount) workers")
    }
    if let tls = options.tls, !(tls is RelayTLS) {
      throw RelayError("RelayOptions.tls must be a RelayTLS (RelayTLS.make)")
    }
    for literal in options.config.bind where BindAddress(literal) == nil {
      throw RelayError("bind address \(literal) is not an IPv4 or IPv6 literal")
    }
    self.options = options
    let shared = try RelayShared(options: options)
    self.shared = shared
    // Each worker can hold every fd the process may open (the hard limit: the
    // daemon raises the soft one, maybe after this); slot memory is only
    // touched as used, so the reservation costs address space, not RSS.
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    let capacity = Int(min(max(UInt64(limit.rlim_max), 65_536), 1 << 20))
    workers = try (0..<options.workerCount).map { index throws(RelayError) in
      try Worker(index: index, shared: shared, pinCore: options.pinCores?[index], connectionCapacity: capacity,
                 keepAliveSeconds: options.keepAliveSeconds, keepAliveJitterSeconds: options.keepAliveJitterSecondsMax)
    }
  }

  deinit {
    // A relay dropped without stop() must not leave its worker threads running.
    stop(graceSeconds: 0)
  }

  /// Binds the listeners (every `bind` address, or all addresses, at `port`;
  /// port 0 picks one free port shared by all listeners) and starts the workers.
  public func start() throws {
    try state.withLock { s throws(RelayError) in
      guard case .created = s else { throw RelayError("relay already started") }
      s = .running
    }
    do {
      try openListeners()
      try shared.verifier?.start()
      for w in workers { try w.start() }
      try shared.mesh?.start()
    } catch {
      shared.mesh?.stop()
      shared.requestStop()
      for w in workers.indices { shared.forceWake(w) }
      for w in workers { w.join() }
      closeAll()
      state.withLock { $0 = .stopped }
      throw error
    }
    shared.log(.info, "relay listening on \(boundAddresses.joined(separator: ", ")) with \(workers.count) worker(s)")
    shared.log(.info, shared.tls?.modeDescription ?? "plain TCP on the DERP port (no tls_cert/tls_key)")
    if let tls = shared.tls { shared.log(.info, tls.certificateDescription()) }
    if let verifier = shared.verifier { shared.log(.info, verifier.summary) }
    if let mesh = shared.mesh {
      shared.log(.info, "mesh: dialling \(mesh.endpoints.map(\.text).joined(separator: ", ")) with the mesh key")
    }
  }

  /// `address:port` of every listener.
  public var boundAddresses: [String] {
    bound.map { $0.0.contains(":") ? "[\($0.0)]:\($0.1)" : "\($0.0):\($0.1)" }
  }

  /// The ports listened on (one entry per bind address).
  public var boundPorts: [Int] { bound.map(\.1) }

  /// Graceful stop: listeners closed, reading stopped, queued frames written
  /// (for at most `graceSeconds`), connections closed, workers joined. Returns
  /// within about `graceSeconds` + 1.1 s (a tick to notice, one second for
  /// operations the kernel never completes). Idempotent; callable from any
  /// thread except a worker's.
  public func stop(graceSeconds: Double = 5) {
    let wasRunning = state.withLock { s -> Bool in
      defer { s = .stopped }
      if case .running = s { return true }
      return false
    }
    guard wasRunning else { return }
    shared.mesh?.stop()
    let deadline = monotonicNanoseconds() + UInt64(max(0, graceSeconds) * 1e9)
    for w in workers { w.stopDeadlineNanoseconds = deadline }
    shared.requestStop()
    for w in workers.indices { shared.forceWake(w) }
    for w in workers { w.join() }
    closeAll()
    let s = statsSnapshot()
    let drops = DropReason.allCases.compactMap { r -> String? in
      let n = s.dropped(r)
      return n == 0 ? nil : "\(r.label)=\(n)"
    }
    shared.log(.info, "relay stopped: packets received \(s.packetsReceived), sent \(s.packetsSent), "
      + "dropped [\(drops.joined(separator: " "))], backpressure pauses \(s.backpressurePauses) "
      + "(released as stalled \(s.backpressureStallReleases)), "
      + "send calls \(s.sendCalls), receives \(s.recvCalls), loop sleeps \(s.loopSleeps), pool fallbacks \(s.poolFallbacks), recv ENOBUFS \(s.recvBufferExhaustions)")
  }

  /// Changes the log level at runtime (SIGHUP).
  public func setLogLevel(_ level: LogLevel) { shared.setLogLevel(level) }

  /// Each worker's own counters (element i = worker i), not summed.
  public func workerStatsSnapshots() -> [RelayStatsSnapshot] {
    workers.map { w in
      var s = RelayStatsSnapshot()
      w.stats.accumulate(into: &s)
      return s
    }
  }

  /// Sum of every worker's counters now. Any thread; no lock, relaxed loads.
  public func statsSnapshot() -> RelayStatsSnapshot {
    var s = RelayStatsSnapshot()
    for w in workers { w.stats.accumulate(into: &s) }
    if let tls = shared.tls { s.tls = tls.statsSnapshot() }
    if let mesh = shared.mesh {
      s.meshPeersConnected = UInt64(mesh.connectedCount)
      s.meshPeersConfigured = UInt64(mesh.endpoints.count)
      s.meshLinkLosses = mesh.linkLosses.load(ordering: .relaxed)
    }
    return s
  }

  /// The links and the keys learned through them; nil without mesh.peers.
  public func meshInfo() -> MeshInfo? {
    guard let mesh = shared.mesh else { return nil }
    let up = mesh.connectedFlags
    let links = mesh.endpoints.indices.map {
      MeshInfo.Link(peer: mesh.endpoints[$0].text, connected: up[$0], keys: mesh.routes.keys(via: $0))
    }
    return MeshInfo(links: links, remoteKeys: mesh.routes.claimedKeys())
  }

  /// The mesh.peers entry (index) that currently has `key`, if any (tests).
  func meshRoute(_ key: DERPKey) -> Int? { shared.mesh?.routes.route(key) }
  func meshReceiverCount(of key: DERPKey) -> Int { shared.mesh?.routes.receiverCount(of: key) ?? 0 }

  /// Registered peers (asks each worker; waits at most ~1 s per worker).
  public func peersSnapshot() -> [PeerInfo] {
    guard case .running = state.withLock({ $0 }) else { return [] }
    var result: [PeerInfo] = []
    for (i, w) in workers.enumerated() {
      w.control.withLock { $0.peersRequested = true; $0.peersReply = nil }
      hd_store_seqcst(w.controlPending, 1)
      shared.forceWake(i)
      for _ in 0..<1000 {
        if let reply = w.control.withLock({ $0.peersReply }) {
          result += reply
          break
        }
        usleep(1000)
      }
    }
    return result
  }

  /// One entry per worker thread.
  public func workersSnapshot() -> [WorkerInfo] {
    workers.map { w in
      WorkerInfo(
        index: w.index, threadID: w.threadID, pinnedCore: w.pinCore, ringFlags: w.ringFlagNames,
        connections: Int(w.stats.load(.currentConnections)), peers: Int(w.stats.load(.currentPeers)),
        poolBytesInUse: Int(w.stats.load(.poolBytesInUse)))
    }
  }

  // MARK: Listeners

  private func openListeners() throws(RelayError) {
    let addresses = options.config.bind.isEmpty ? BindAddress.wildcards() : options.config.bind.map { BindAddress($0)! }
    var perWorker = Array(repeating: [Int32](), count: workers.count)
    var port = options.config.port
    for (n, address) in addresses.enumerated() {
      let wildcard = options.config.bind.isEmpty
      // With no bind list, "::" dual-stack serves IPv4 too; 0.0.0.0 is only a
      // fallback for hosts without IPv6.
      if wildcard && n == 1 && !bound.isEmpty { break }
      var boundPort = port
      do {
        if port != 0 { try Sockets.ensurePortFree(address, port: port, dualStack: wildcard) }
        for w in 0..<workers.count {
          let (fd, p) = try Sockets.listen(on: address, port: port, dualStack: wildcard)
          listenerFDs.append(fd)
          perWorker[w].append(fd)
          if port == 0 { port = p }
          boundPort = p
        }
      } catch {
        if wildcard && n == 0 { continue }  // no IPv6 here: fall back to 0.0.0.0
        throw error
      }
      bound.append((address.text, boundPort))
    }
    shared.listeners = perWorker
  }

  private func closeAll() {
    shared.verifier?.stop()
    for fd in listenerFDs { close(fd) }
    listenerFDs = []
  }
}
