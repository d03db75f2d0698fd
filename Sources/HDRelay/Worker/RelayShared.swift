// State every worker reads (set up before the workers start, immutable after)
// plus the few words they share atomically: per-worker sleep flags, the
// relay-wide registration sequence and the stop request.
@preconcurrency import Glibc
import CURing
import HDConfig
import HDProtocol

final class RelayShared: @unchecked Sendable {
  let config: Config
  let keyPair: DERPKeyPair
  let workerCount: Int
  /// Receive buffers queued frames may hold per worker (RelayOptions).
  let recvBuffersHeldForFramesMax: Int
  let logSink: RelayLogSink
  let acceptLimiter: AcceptRateLimiter
  /// TLS on the DERP port (nil = plain TCP).
  let tls: RelayTLS?
  /// xfer[src][dst]: records from worker src to worker dst (nil when src == dst).
  let xfer: [[XferRing?]]
  /// eventfd per worker: written by producers when the consumer may be asleep.
  let wakeFDs: [Int32]
  /// listeners[w]: the listening sockets worker w accepts on (one per bind address).
  var listeners: [[Int32]] = []
  /// Words shared between threads, each on its own 64-byte line:
  /// [w*8] sleeping flag of worker w, [workerCount*8] registration sequence,
  /// [(workerCount+1)*8] stop request (0 run, 1 graceful stop), [(workerCount+2)*8] log level.
  private let words: UnsafeMutablePointer<UInt64>
  /// The ServerKey frame, identical for every connection.
  let serverKeyFrame: [UInt8]
  /// ServerInfo JSON (`{"version":2}`), sealed per connection.
  let serverInfoJSON = ServerInfo().jsonBytes()
  /// The mesh secret; clients presenting it are mesh peers (nil = none are).
  let meshKey: DERPKey?
  /// Address and PeerPresent flags of every registered connection, for the
  /// PeerPresent frames mesh watchers get (only kept when a mesh key is set).
  let meshDirectory = MeshDirectory()
  /// Outbound links to mesh.peers (nil without mesh key or peers).
  let mesh: MeshLinks?
  /// verify_clients.url admission controller client (nil = admit everyone).
  private(set) var verifier: ClientVerifier? = nil

  init(options: RelayOptions) throws(RelayError) {
    config = options.config
    keyPair = options.serverKeyPair
    meshKey = options.meshKey
    workerCount = options.workerCount
    recvBuffersHeldForFramesMax = options.recvBuffersHeldForFramesMax
    logSink = options.log
    acceptLimiter = AcceptRateLimiter(perSecond: options.config.maxAcceptRatePerSecond)
    tls = options.tls as? RelayTLS
    xfer = (0..<options.workerCount).map { src in
      (0..<options.workerCount).map { dst in src == dst ? nil : XferRing(capacity: Tuning.xferRingBytes) }
    }
    var fds: [Int32] = []
    for _ in 0..<options.workerCount {
      let fd = hd_eventfd()
      guard fd >= 0 else { throw RelayError.system("eventfd", errno: -fd) }
      fds.append(fd)
    }
    wakeFDs = fds
    if let meshKey = options.meshKey, !options.config.mesh.peers.isEmpty {
      var endpoints: [MeshEndpoint] = []
      for text in options.config.mesh.peers {
        guard let endpoint = MeshEndpoint.parse(text) else {
          throw RelayError("mesh.peers: '\(text)' is not host, host:port or an http(s) URL")
        }
        endpoints.append(endpoint)
      }
      mesh = try MeshLinks(
        endpoints: endpoints, serverKeys: options.serverKeyPair, meshKey: meshKey,
        retrySeconds: options.meshRetrySeconds,
        linkTimeoutSeconds: Double(options.config.mesh.linkTimeoutSeconds), trust: options.outboundTrust,
        outboxBytes: Tuning.meshOutboxBytes, workerCount: options.workerCount, log: options.log,
        wakeWorker: { [wakeFDs = fds] w in
          var one: UInt64 = 1
          _ = write(wakeFDs[w], &one, 8)
        })
    } else {
      mesh = nil
    }
    let wordCount = (options.workerCount + 3) * 8
    words = .allocate(capacity: wordCount)
    words.initialize(repeating: 0, count: wordCount)
    serverKeyFrame = Handshake.serverKeyFrame(serverKey: options.serverKeyPair.publicKey)
    setLogLevel(options.config.logLevel)
    verifier = try ClientVerifier.make(options: options, wake: { [unowned self] w in self.wake(w) })
  }

  deinit {
    for fd in wakeFDs { close(fd) }
    words.deallocate()
  }

  @inline(__always) func sleepingFlag(_ worker: Int) -> UnsafeMutablePointer<UInt64> { words + worker * 8 }

  /// Relay-wide increasing sequence for duplicate-key ordering.
  func nextSequence() -> UInt64 { hd_fetch_add(words + workerCount * 8, 1) + 1 }

  /// Acquire-strength load: the stop deadline written before `requestStop()` is then visible.
  var stopRequested: Bool { hd_load_seqcst(words + (workerCount + 1) * 8) != 0 }
  func requestStop() { hd_store_seqcst(words + (workerCount + 1) * 8, 1) }

  func setLogLevel(_ level: LogLevel) {
    let rank = UInt64(LogLevel.allCases.firstIndex(of: level) ?? 0)
    hd_store_relaxed(words + (workerCount + 2) * 8, rank)
  }

  var logLevel: LogLevel { LogLevel.allCases[Int(hd_load_relaxed(words + (workerCount + 2) * 8))] }

  /// Logs `message()` if `level` is enabled (control path only).
  func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
    guard level >= logLevel, level != .off else { return }
    logSink(level, message())
  }

  /// Wakes worker `w` if it announced it may sleep.
  @inline(__always) func wake(_ w: Int) {
    let flag = sleepingFlag(w)
    if hd_load_seqcst(flag) != 0 && hd_exchange_seqcst(flag, 0) != 0 {
      var one: UInt64 = 1
      _ = write(wakeFDs[w], &one, 8)
    }
  }

  /// Wakes worker `w` unconditionally (stop, snapshot requests).
  func forceWake(_ w: Int) {
    var one: UInt64 = 1
    _ = write(wakeFDs[w], &one, 8)
  }
}
