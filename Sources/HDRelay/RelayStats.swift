// The relay's counters as the metrics endpoint sees them. Each worker owns a
// block of UInt64 slots it alone writes (relaxed atomic stores, WorkerStats);
// a scrape sums the blocks into this snapshot. Counters only grow; gauges
// (`current…`) are per-worker sums of values that go up and down.

/// Totals over all workers at the moment of the scrape.
public struct RelayStatsSnapshot: Sendable, Equatable {
  // MARK: Traffic
  /// SendPacket frames read from clients (derp_packets_received).
  public var packetsReceived: UInt64 = 0
  /// SendPacket frames from clients that looked like disco.
  public var packetsReceivedDisco: UInt64 = 0
  /// SendPacket frames from clients that did not look like disco.
  public var packetsReceivedOther: UInt64 = 0
  /// Bytes read from peer sockets after the handshake, frame headers included (derp_bytes_received).
  public var bytesReceived: UInt64 = 0
  /// RecvPacket frames written to clients (derp_packets_sent).
  public var packetsSent: UInt64 = 0
  /// Bytes written to peer sockets, frame headers included (derp_bytes_sent).
  public var bytesSent: UInt64 = 0

  // MARK: Drops
  /// Dropped packets, indexed `[DropReason.rawValue][PacketKind.rawValue]`.
  public var packetsDropped: [[UInt64]] = RelayStatsSnapshot.dropMatrix()
  /// Packet payload bytes of the dropped packets, same indexing.
  public var bytesDropped: [[UInt64]] = RelayStatsSnapshot.dropMatrix()

  // MARK: Connections
  /// TCP connections accepted (derp_accepts).
  public var accepts: UInt64 = 0
  /// Connections closed right after accept because `max_accept_rate` was exceeded.
  public var acceptRateRejections: UInt64 = 0
  /// Accept errors other than rate limiting (EMFILE, ENFILE, ENOMEM…).
  public var acceptErrors: UInt64 = 0
  /// Open sockets on the DERP port, in setup or registered (derp_current_connections).
  public var currentConnections: UInt64 = 0
  /// Registered DERP peers (connections past the handshake).
  public var currentPeers: UInt64 = 0
  /// Registered peers that sent NotePreferred(true) (derp_current_home_connections).
  public var currentHomeConnections: UInt64 = 0
  /// Open connections by transport, indexed by `TransportMode.rawValue`.
  public var currentConnectionsByTransport: [UInt64] = Array(repeating: 0, count: TransportMode.allCases.count)
  /// Keys with more than one connection (derp_current_dup_client_keys).
  public var currentDupClientKeys: UInt64 = 0
  /// Connections belonging to such keys (derp_current_dup_client_conns).
  public var currentDupClientConns: UInt64 = 0
  /// Connections that joined an existing key (derp_total_dup_client_conns).
  public var totalDupClientConns: UInt64 = 0
  /// Mesh peers subscribed with WatchConns.
  public var watchers: UInt64 = 0
  /// Packets sent on to another relay of the region (mesh.peers), and the
  /// mesh.peers links currently up.
  public var meshForwardedPackets: UInt64 = 0
  /// RecvPacket frames sent straight from the receive buffer they arrived in,
  /// frames copied because too many receive buffers were held, and the
  /// receive buffers held for queued frames now (gauge).
  public var packetsSentInPlace: UInt64 = 0
  public var inPlaceHoldLimitCopies: UInt64 = 0
  public var recvBuffersHeldForFrames: UInt64 = 0
  public var meshPeersConnected: UInt64 = 0
  /// mesh.peers links that were up and were lost (peer closed, error, or
  /// silent for mesh.link_timeout_seconds).
  public var meshLinkLosses: UInt64 = 0
  /// Entries of mesh.peers (0 without them).
  public var meshPeersConfigured: UInt64 = 0
  /// Handshakes that failed, indexed by `HandshakeFailure.rawValue`.
  public var handshakeFailures: [UInt64] = Array(repeating: 0, count: HandshakeFailure.allCases.count)
  /// Connections closed because a send made no progress for the write timeout.
  public var writeTimeouts: UInt64 = 0
  /// Connections closed for a protocol violation (bad or oversized frame, mesh-only frame).
  public var protocolErrors: UInt64 = 0

  // MARK: Protocol frames
  /// Ping frames received (derp_got_ping).
  public var gotPing: UInt64 = 0
  /// Pong frames sent (derp_sent_pong).
  public var sentPong: UInt64 = 0
  /// PeerGone(Disconnected) frames sent (derp_peer_gone_disconnected_frames).
  public var peerGoneDisconnectedFrames: UInt64 = 0
  /// PeerGone(NotHere) frames sent (derp_peer_gone_not_here_frames).
  public var peerGoneNotHereFrames: UInt64 = 0
  /// KeepAlive frames sent.
  public var keepAlivesSent: UInt64 = 0
  /// Frames of unknown type skipped (derp_unknown_frames).
  public var unknownFrames: UInt64 = 0
  /// Times a peer's reading was paused by `peer_rate_limit`.
  public var rateLimitPauses: UInt64 = 0
  /// Times a sender's reading was paused because a destination it sends to
  /// (or the cross-worker ring towards it) was congested (docs/queueing.md).
  public var backpressurePauses: UInt64 = 0

  // MARK: Data-plane internals
  /// Packets handed to another worker through the cross-worker rings.
  public var xferPackets: UInt64 = 0
  /// Packets (and control messages retried later) that found a cross-worker ring full.
  public var xferRingFull: UInt64 = 0
  /// Packet buffers taken from the heap because the worker's pool was empty.
  public var poolFallbacks: UInt64 = 0
  /// Multishot receives that ran out of provided buffers (ENOBUFS) and were re-armed later.
  public var recvBufferExhaustions: UInt64 = 0
  /// Send system calls submitted (frames per send = packetsSent / sendCalls, roughly).
  public var sendCalls: UInt64 = 0
  /// Receives that returned bytes (bytes per receive = bytesReceived / recvCalls).
  public var recvCalls: UInt64 = 0
  /// Times a worker slept in io_uring_enter waiting for completions (wake-ups).
  public var loopSleeps: UInt64 = 0
  /// Senders paused for a congested destination and released because it looked
  /// stalled (500 ms without progress) rather than because it drained.
  public var backpressureStallReleases: UInt64 = 0
  /// Control frames (PeerGone, KeepAlive…) not queued because the connection's
  /// control queue was full.
  public var controlFramesDropped: UInt64 = 0
  /// `busy_poll`: polls before sleeping that found work (a wake-up saved) and
  /// polls that ran out and slept.
  public var busyPollHits: UInt64 = 0
  public var busyPollMisses: UInt64 = 0

  // MARK: Admission (verify_clients.url)
  /// Controller answers: allowed, denied, errors by reason, fail-open admits.
  public var verifyClients = VerifyClientsStatsSnapshot()

  // MARK: TLS
  /// TLS handshakes, failures by reason, kernel-TLS installs and fallbacks.
  public var tls = TLSStatsSnapshot()

  public init() {}

  static func dropMatrix() -> [[UInt64]] {
    Array(repeating: Array(repeating: 0, count: PacketKind.allCases.count), count: DropReason.allCases.count)
  }

  /// Dropped packets for one reason and kind.
  public func dropped(_ reason: DropReason, _ kind: PacketKind) -> UInt64 {
    packetsDropped[reason.rawValue][kind.rawValue]
  }

  /// Dropped packets for one reason, both kinds.
  public func dropped(_ reason: DropReason) -> UInt64 {
    packetsDropped[reason.rawValue].reduce(0, &+)
  }
}
