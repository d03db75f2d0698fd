// Why a packet was not delivered. Raw values are the metric label values
// (derper's names, spec/derp-protocol.md §4.7, plus our own pool reason).

/// Reason a SendPacket was dropped instead of delivered.
public enum DropReason: Int, CaseIterable, Sendable {
  /// No connection with the destination key on this relay.
  case unknownDest
  /// The destination left between routing and delivery.
  case goneDisconnected
  /// The destination queue was full; its oldest packet was dropped.
  case queueHead
  /// The destination queue stayed full; the new packet was dropped.
  case queueTail
  /// The destination's socket failed or timed out with packets queued.
  case writeError
  /// Duplicate-key set without an active connection.
  case dupClient
  /// The worker's packet memory (pools and counted fallback) was used up.
  case noMemory
  /// The cross-worker ring to the destination's worker was full.
  case xferRingFull
  /// The queue towards the mesh peer that has the destination was full.
  case meshQueueFull

  /// Metric label value.
  public var label: String {
    switch self {
    case .unknownDest: return "unknown_dest"
    case .goneDisconnected: return "gone_disconnected"
    case .queueHead: return "queue_head"
    case .queueTail: return "queue_tail"
    case .writeError: return "write_error"
    case .dupClient: return "dup_client"
    case .noMemory: return "no_memory"
    case .xferRingFull: return "xfer_ring_full"
    case .meshQueueFull: return "mesh_queue_full"
    }
  }
}

/// derper's packet classification: disco-looking packets (magic `TS💬`, at
/// least 62 bytes) are queued and counted apart from everything else.
public enum PacketKind: Int, CaseIterable, Sendable {
  case disco
  case other

  /// Metric label value.
  public var label: String { self == .disco ? "disco" : "other" }
}

/// Why a connection never became a DERP peer.
public enum HandshakeFailure: Int, CaseIterable, Sendable {
  /// The 10 s deadline from accept passed before registration.
  case timeout
  /// The HTTP request head was malformed or too large.
  case badHTTP
  /// The request was answered (probe, 204, 404, 426) and the connection closed.
  /// Not a failure of the client; counted so every accepted socket is accounted for.
  case nonDERPRequest
  /// The first frame was not ClientInfo, or had a bad length.
  case badFirstFrame
  /// The ClientInfo box did not open or its JSON did not parse.
  case badClientInfo
  /// The peer closed or reset the connection during setup.
  case peerClosed

  /// Metric label value.
  public var label: String {
    switch self {
    case .timeout: return "timeout"
    case .badHTTP: return "bad_http"
    case .nonDERPRequest: return "non_derp_request"
    case .badFirstFrame: return "bad_first_frame"
    case .badClientInfo: return "bad_client_info"
    case .peerClosed: return "peer_closed"
    }
  }
}

/// How a connection's bytes are carried.
public enum TransportMode: Int, CaseIterable, Sendable {
  case plain
  case userspaceTLS
  case kernelTLS

  /// Metric label value.
  public var label: String {
    switch self {
    case .plain: return "plain"
    case .userspaceTLS: return "userspace"
    case .kernelTLS: return "kernel"
    }
  }
}
