// The client side of the regional mesh (mesh.peers, derper's -mesh-with): one
// thread per configured relay dials https://host/derp (or the http:// URL) as
// a client with this relay's own server key and the mesh key, sends
// WatchConns, and keeps the connection up (retrying every
// `retrySeconds`). What the peer reports connected goes into `routes`;
// packets workers route to it leave through its `MeshOutbox` as
// ForwardPacket frames on the same connection. A link pings its peer every
// third of `linkTimeoutSeconds` and is dropped (counted, forgotten, redialled)
// when nothing at all arrives for that long or a write makes no progress: a
// cut path is noticed in bounded time, not when TCP gives up minutes later. A peer that turns out to be
// this relay (same server key) is dropped, as derper does. The links are the
// control plane: blocking sockets on their own threads, off the workers.
@preconcurrency import Glibc
import CSys
import HDClient
import HDProtocol
import HDTLS
import Synchronization

/// Outcome of offering a packet to the mesh.
enum MeshForward {
  case queued
  case queueFull
  case noRoute
}

final class MeshLinks: @unchecked Sendable {
  let endpoints: [MeshEndpoint]
  let routes = MeshRoutes()
  let outboxes: [MeshOutbox]
  private let serverKeys: DERPKeyPair
  private let meshKey: DERPKey
  private let retrySeconds: Double
  private let linkTimeoutSeconds: Double
  /// Links that were up and were lost (peer closed, error, silence).
  let linkLosses = Atomic<UInt64>(0)
  /// What https peers' certificates must chain to (named in the log when they do not).
  let trust: TLSTrust
  private let log: RelayLogSink
  private let stopFlag = Atomic<Bool>(false)
  private var threads: [pthread_t] = []
  /// Per peer: 1 while its watch connection is up.
  private let connected: Mutex<[Bool]>
  /// Per peer: the socket of its live connection (-1 none), so stop() can
  /// shut it down and unblock a read.
  private let sockets: Mutex<[Int32]>
  /// Packets handed to an outbox, and bytes thrown away when a link dropped.
  let packetsQueued = Atomic<UInt64>(0)
  /// Per worker: PeerGone(Disconnected) frames its connections are owed for
  /// mesh keys they received from that left the region; the worker drains it
  /// when woken.
  let goneMailboxes: [MeshGoneMailbox]
  private let wakeWorker: @Sendable (Int) -> Void

  init(endpoints: [MeshEndpoint], serverKeys: DERPKeyPair, meshKey: DERPKey, retrySeconds: Double,
       linkTimeoutSeconds: Double,
       trust: TLSTrust, outboxBytes: Int, workerCount: Int, log: @escaping RelayLogSink,
       wakeWorker: @escaping @Sendable (Int) -> Void) throws(RelayError) {
    goneMailboxes = (0..<workerCount).map { _ in MeshGoneMailbox() }
    self.wakeWorker = wakeWorker
    self.endpoints = endpoints
    self.serverKeys = serverKeys
    self.meshKey = meshKey
    self.retrySeconds = retrySeconds
    self.linkTimeoutSeconds = linkTimeoutSeconds
    self.trust = trust
    self.log = log
    var boxes: [MeshOutbox] = []
    for _ in endpoints { boxes.append(try MeshOutbox(capacityBytes: outboxBytes)) }
    outboxes = boxes
    connected = Mutex(endpoints.map { _ in false })
    sockets = Mutex(endpoints.map { _ in -1 })
  }

  /// Mesh peers whose watch connection is up.
  var connectedCount: Int { connected.withLock { $0.filter { $0 }.count } }
  /// Per peer: whether its link is up.
  var connectedFlags: [Bool] { connected.withLock { $0 } }

  /// A worker found no local connection for `destination`: forward it to the
  /// mesh peer that has the key, if any.
  @inline(__always)
  func forward(source: DERPKey, destination: DERPKey, packet: UnsafeRawPointer, packetBytes: Int) -> MeshForward {
    guard let peer = routes.route(destination) else { return .noRoute }
    guard outboxes[peer].enqueue(source: source, destination: destination, packet: packet, packetBytes: packetBytes)
    else { return .queueFull }
    packetsQueued.add(1, ordering: .relaxed)
    return .queued
  }

  // MARK: Threads

  func start() throws(RelayError) {
    // OpenSSL writes through write(2): a peer that went away must not SIGPIPE the relay.
    signal(SIGPIPE, SIG_IGN)
    for index in endpoints.indices {
      switch PlainThread.start(name: "hd-mesh-\(index)", { self.runLink(index) }) {
      case .success(let t): threads.append(t)
      case .failure(let why):
        stop()
        throw RelayError.system("pthread_create for mesh link \(index)", errno: why.errno)
      }
    }
  }

  /// Stops every link: live connections are shut down (unblocking their
  /// reads and writes). A link still inside connect or the handshake (5 s
  /// bounds each) is waited for up to `joinSeconds`, then left to finish on
  /// its own: it only touches this object, which it keeps alive.
  func stop(joinSeconds: Double = 2) {
    stopFlag.store(true, ordering: .sequentiallyConsistent)
    for box in outboxes {
      var one: UInt64 = 1
      _ = write(box.wakeFD, &one, 8)
    }
    sockets.withLock { fds in
      for fd in fds where fd >= 0 { _ = shutdown(fd, Int32(SHUT_RDWR)) }
    }
    for t in threads where csys_pthread_join_within(UInt(t), joinSeconds) != 0 {
      log(.warning, "mesh: a link is still connecting at stop; leaving it to time out")
      pthread_detach(t)
    }
    threads = []
  }

  private var stopping: Bool { stopFlag.load(ordering: .relaxed) }

  private func runLink(_ index: Int) {
    let endpoint = endpoints[index]
    var lastError = ""
    while !stopping {
      do throws(DERPClientError) {
        let client = try connect(endpoint)
        sockets.withLock { $0[index] = client.transport.fileDescriptor }
        defer {
          sockets.withLock { $0[index] = -1 }
          client.close()
        }
        if stopping { return }
        if client.serverKey == serverKeys.publicKey {
          log(.warning, "mesh peer \(endpoint.text) is this relay (same server key); not meshing with it")
          return
        }
        bound(client.transport.fileDescriptor)
        try client.watchConns()
        connected.withLock { $0[index] = true }
        log(.info, "mesh: watching \(endpoint.text) (server key \(client.serverKey.nodeKeyText))")
        lastError = ""
        defer {
          connected.withLock { $0[index] = false }
          if !stopping { linkLosses.add(1, ordering: .relaxed) }
          for (key, receivers) in routes.forgetAll(via: index) { tellReceivers(key, receivers) }
          let dropped = outboxes[index].discardAll()
          if !stopping {
            log(.warning, "mesh: lost \(endpoint.text); forgot its keys" + (dropped > 0 ? ", dropped \(dropped) queued bytes" : ""))
          }
        }
        try pump(client, index: index)
      } catch {
        var text = "\(error)"
        // Which CAs were trusted: the usual cause is a private CA that is not
        // in tls_ca_file / SSL_CERT_FILE, or a bundle for another region.
        if case .certificateRejected = error, endpoint.tls { text += " (trusted: \(trust))" }
        if text != lastError && !stopping {
          log(.warning, "mesh: cannot reach \(endpoint.text): \(text); retrying every \(retrySeconds) s")
          lastError = text
        }
      }
      waitForRetry(index)
    }
  }

  private func connect(_ endpoint: MeshEndpoint) throws(DERPClientError) -> DERPClient {
    var options = DERPClientOptions()
    options.clientInfo = ClientInfo(meshKey: meshKey)
    options.readTimeoutSeconds = 1
    options.connectTimeoutSeconds = 5
    options.handshakeTimeoutSeconds = 5
    if endpoint.tls {
      var tls = TLSClientOptions(verifyPeerName: endpoint.host)
      trust.apply(to: &tls)
      return try DERPClient.connectTLS(host: endpoint.host, port: endpoint.port, keys: serverKeys, options: options,
                                       tls: tls)
    }
    return try DERPClient.connect(host: endpoint.host, port: endpoint.port, keys: serverKeys, options: options)
  }

  /// Reads the peer's presence stream and writes the outbox until the
  /// connection fails or the relay stops.
  private func pump(_ client: DERPClient, index: Int) throws(DERPClientError) {
    let outbox = outboxes[index]
    let timeoutNanoseconds = UInt64(linkTimeoutSeconds * 1e9)
    var lastHeard = monotonicNanoseconds()
    var lastPing = lastHeard
    var pings: UInt64 = 0
    let chunkBytes = 256 * 1024
    let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkBytes, alignment: 64)
    defer { chunk.deallocate() }
    var fds = [pollfd(fd: client.transport.fileDescriptor, events: Int16(POLLIN), revents: 0),
               pollfd(fd: outbox.wakeFD, events: Int16(POLLIN), revents: 0)]
    while !stopping {
      let buffered = client.hasBufferedFrames || client.transport.bufferedReadBytes > 0
      fds[0].revents = 0
      fds[1].revents = 0
      if !buffered { _ = poll(&fds, 2, 1000) }
      if stopping { return }
      if buffered || fds[0].revents != 0 {
        repeat {
          handle(try client.receive(), from: index)
        } while client.hasBufferedFrames || client.transport.bufferedReadBytes > 0
        lastHeard = monotonicNanoseconds()
      }
      let now = monotonicNanoseconds()
      if now &- lastHeard >= timeoutNanoseconds { throw .timedOut }
      if now &- lastPing >= timeoutNanoseconds / 3 {
        pings &+= 1
        try client.sendPing(payload: pings)
        lastPing = now
      }
      if fds[1].revents != 0 { outbox.acknowledgeWake() }
      while true {
        let n = outbox.take(into: chunk, maxBytes: chunkBytes)
        if n == 0 { break }
        try client.transport.write(UnsafeRawBufferPointer(start: chunk, count: n))
      }
    }
  }

  /// Writes that make no progress for the link timeout fail (SO_SNDTIMEO),
  /// and so does unacknowledged data (TCP_USER_TIMEOUT): a blocked write
  /// must not hide a dead path from the silence check.
  private func bound(_ fd: Int32) {
    var tv = timeval(tv_sec: Int(linkTimeoutSeconds), tv_usec: Int(linkTimeoutSeconds.truncatingRemainder(dividingBy: 1) * 1e6))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var milliseconds = UInt32(linkTimeoutSeconds * 1000)
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &milliseconds, socklen_t(MemoryLayout<UInt32>.size))
  }

  private func handle(_ frame: ReceivedFrame, from index: Int) {
    switch frame {
    case .peerPresent(let key, _, _): routes.present(key, via: index)
    case .peerGone(let key, _): tellReceivers(key, routes.gone(key, via: index))
    default: break  // KeepAlive, and anything a newer server may add
    }
  }

  /// `key` left the region: the local connections that received from it get
  /// PeerGone(Disconnected) from their own workers (unless `key` connected
  /// here meanwhile: the worker checks).
  private func tellReceivers(_ key: DERPKey, _ receivers: [UInt64]) {
    var touched = Set<Int>()
    for raw in receivers {
      let location = PeerLocation(raw: raw)
      guard location.worker < goneMailboxes.count else { continue }
      goneMailboxes[location.worker].post(key: key, to: location)
      touched.insert(location.worker)
    }
    for w in touched { wakeWorker(w) }
  }

  private func waitForRetry(_ index: Int) {
    let deadline = monotonicNanoseconds() + UInt64(retrySeconds * 1e9)
    while !stopping {
      let now = monotonicNanoseconds()
      guard now < deadline else { return }
      var fd = pollfd(fd: outboxes[index].wakeFD, events: Int16(POLLIN), revents: 0)
      _ = poll(&fd, 1, Int32(min(1000, (deadline - now) / 1_000_000 + 1)))
      if fd.revents != 0 {
        outboxes[index].acknowledgeWake()
        _ = outboxes[index].discardAll()  // nobody to send these to
      }
    }
  }
}
