// Per-peer and per-worker views for /debug/peers and /debug/workers. Built on
// demand by asking each worker (off the hot path).
import HDProtocol

/// One registered peer connection.
/// The mesh.peers links and what they taught this relay (/debug/mesh).
public struct MeshInfo: Sendable, Equatable {
  public struct Link: Sendable, Equatable {
    /// The mesh.peers entry as configured.
    public var peer: String
    public var connected: Bool
    /// Keys that peer reports connected.
    public var keys: [DERPKey]
  }
  public var links: [Link]
  /// Every key some peer claims.
  public var remoteKeys: [DERPKey]
}

public struct PeerInfo: Sendable, Equatable {
  /// The peer's public key.
  public var key: DERPKey
  /// Remote address as `ip:port` (`[ip]:port` for IPv6).
  public var remoteAddress: String
  /// Worker thread that owns the connection.
  public var worker: Int
  /// NotePreferred(true) was received.
  public var isPreferred: Bool
  /// More than one connection has this key.
  public var isDuplicate: Bool
  /// Receives packets for its key (false for inactive duplicates).
  public var isActive: Bool
  /// How its bytes are carried.
  public var transport: TransportMode
  /// Packets queued for it now.
  public var queuedPackets: Int
  /// Seconds since it registered.
  public var connectedSeconds: Double

  public init(
    key: DERPKey, remoteAddress: String, worker: Int, isPreferred: Bool, isDuplicate: Bool, isActive: Bool,
    transport: TransportMode, queuedPackets: Int, connectedSeconds: Double
  ) {
    self.key = key
    self.remoteAddress = remoteAddress
    self.worker = worker
    self.isPreferred = isPreferred
    self.isDuplicate = isDuplicate
    self.isActive = isActive
    self.transport = transport
    self.queuedPackets = queuedPackets
    self.connectedSeconds = connectedSeconds
  }
}

/// One data-plane thread.
public struct WorkerInfo: Sendable, Equatable {
  public var index: Int
  /// Kernel thread id (for `ps -L`, `taskset -p`).
  public var threadID: Int32
  /// Core it is pinned to; nil = not pinned.
  public var pinnedCore: Int?
  /// io_uring setup flags the kernel accepted, in words (e.g. "SINGLE_ISSUER|DEFER_TASKRUN").
  public var ringFlags: String
  /// Open connections owned by this worker (in setup or registered).
  public var connections: Int
  /// Registered peers owned by this worker.
  public var peers: Int
  /// Packet-buffer pool bytes in use now.
  public var poolBytesInUse: Int

  public init(
    index: Int, threadID: Int32, pinnedCore: Int?, ringFlags: String, connections: Int, peers: Int,
    poolBytesInUse: Int
  ) {
    self.index = index
    self.threadID = threadID
    self.pinnedCore = pinnedCore
    self.ringFlags = ringFlags
    self.connections = connections
    self.peers = peers
    self.poolBytesInUse = poolBytesInUse
  }
}
