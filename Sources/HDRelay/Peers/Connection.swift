// One socket's state, stored inline in the worker's slot array (plain values
// only: no references, so the array needs no ARC). Hot fields first.
import HDProtocol

enum ConnectionState: UInt8 {
  case free
  /// Reading the HTTP request head.
  case http
  /// ServerKey sent; waiting for the ClientInfo frame.
  case awaitingClientInfo
  /// ClientInfo opened; waiting for the admission controller (verify_clients.url).
  case verifying
  /// Registered DERP peer.
  case registered
  /// Shut down; waiting for in-flight operations before the fd is closed.
  case closing
}

struct ConnectionFlags: OptionSet {
  var rawValue: UInt16
  /// A multishot recv is armed.
  static let recvArmed = ConnectionFlags(rawValue: 1 << 0)
  /// A sendmsg is in flight.
  static let sendInFlight = ConnectionFlags(rawValue: 1 << 1)
  /// On the worker's dirty list (a send will be considered at the end of the batch).
  static let dirty = ConnectionFlags(rawValue: 1 << 2)
  /// Reading paused by `peer_rate_limit`.
  static let paused = ConnectionFlags(rawValue: 1 << 3)
  /// Sent NotePreferred(true).
  static let preferred = ConnectionFlags(rawValue: 1 << 4)
  /// A Pong is queued and not yet written (derper's one-slot pong channel).
  static let pongPending = ConnectionFlags(rawValue: 1 << 5)
  /// Close once everything queued has been written (HTTP answers).
  static let closeAfterFlush = ConnectionFlags(rawValue: 1 << 6)
  /// Recv ended for lack of buffers; re-arm when a share is back.
  static let recvStarved = ConnectionFlags(rawValue: 1 << 7)
  /// The client asked for fast start (no 101 response).
  static let fastStart = ConnectionFlags(rawValue: 1 << 8)
  /// The peer closed its sending side (recv returned 0).
  static let peerEOF = ConnectionFlags(rawValue: 1 << 9)
  /// Reading paused because a destination it sends to is congested.
  static let backpressured = ConnectionFlags(rawValue: 1 << 10)
  /// Its "other" queue went over the soft depth (since `congestedTick`).
  static let congested = ConnectionFlags(rawValue: 1 << 11)
  /// Presented the mesh key: may send WatchConns, ClosePeer, ForwardPacket;
  /// exempt from peer_rate_limit and verify_clients; longer write timeout.
  static let meshPeer = ConnectionFlags(rawValue: 1 << 12)
  /// A mesh peer that sent WatchConns (gets PeerPresent / PeerGone).
  static let watcher = ConnectionFlags(rawValue: 1 << 13)
  /// ClientInfo said IsProber (PeerPresent flags for watchers).
  static let prober = ConnectionFlags(rawValue: 1 << 14)

  // Combinations tested on the data path are constants: an OptionSet array
  // literal is built as a heap Array on every evaluation in debug builds.
  /// Reading is held back (rate limit or backpressure).
  static let readHeld: ConnectionFlags = [.paused, .backpressured]
  /// Do not re-arm the receive: held back, or closing after the last write.
  static let noRearm: ConnectionFlags = [.paused, .backpressured, .closeAfterFlush]
}

/// Where a connection's partial-frame bytes live.
enum AssemblyKind: UInt8 {
  case none, small, large, heap
}

struct Connection {
  var fd: Int32 = -1
  var generation: UInt32 = 0
  var state: ConnectionState = .free
  var transport: Transport = .plain
  var flags: ConnectionFlags = []
  /// TLS session state while `transport == .userspaceTLS` (Sources/HDRelay/TLS).
  var tls: UnsafeMutablePointer<TLSConnection>? = nil
  /// Operations whose completion is still due (recv, send, cancel).
  var pendingOps: Int16 = 0
  /// Registered key (zero before registration).
  var key: DERPKey = .zero

  // MARK: Receive
  /// Bytes of an incomplete frame (or HTTP head) kept between receives.
  var assembly: UnsafeMutableRawPointer? = nil
  var assemblyBytes: Int32 = 0
  var assemblyCapacity: Int32 = 0
  var assemblyKind: AssemblyKind = .none
  /// Bytes of an unknown frame still to be skipped (never buffered).
  var skipBytes: UInt32 = 0

  // MARK: Send
  /// SendQueue block (lazily allocated, returned when drained), or nil.
  var sendQueue: UnsafeMutableRawPointer? = nil
  /// Next slot on the worker's dirty list.
  var dirtyNext: Int32 = -1
  /// Tick of the last send progress (for the write timeout).
  var sendProgressTick: UInt64 = 0
  /// When the queue last went over the soft depth (backpressure, stall detection).
  var congestedTick: UInt64 = 0
  /// While backpressured: the local slot it waits on, or -1 - worker for a
  /// full cross-worker ring.
  var waitingOn: Int32 = 0
  var backpressureTick: UInt64 = 0

  // MARK: Timers
  var acceptTick: UInt64 = 0
  var keepAliveTick: UInt64 = 0

  // MARK: Rate limits
  /// `peer_rate_limit` bucket (Worker+RateLimit.swift): bytes left, and the
  /// monotonic time up to which earned tokens are counted in.
  var rateTokens: Int64 = 0
  var rateRefillNanoseconds: UInt64 = 0
  var notHereTokens: Int32 = 0
  var notHereTick: UInt64 = 0

  // MARK: PeerGone tracking
  /// Locations this connection sent packets to (for PeerGone(Disconnected)).
  var sentTo: UnsafeMutablePointer<UInt64>? = nil
  var sentToCount: Int32 = 0
  var sentToCapacity: Int32 = 0
  /// Last recorded destination: skips the set lookup for repeated sends.
  var lastSentTo: UInt64 = 0

  /// Registration sequence (duplicate-key ordering).
  var registrationSeq: UInt64 = 0
  var registeredTick: UInt64 = 0
}
