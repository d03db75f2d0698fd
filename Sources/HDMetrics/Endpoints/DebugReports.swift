// /debug/workers and /debug/peers (only with metrics.debug_endpoints: peer
// keys and addresses are sensitive). Field meanings are in docs/metrics.md.
import HDRelay

enum DebugReports {
  static func workers(_ metrics: CollectedMetrics) -> HTTPResponse {
    let entries = metrics.workers.map { worker -> JSONText in
      var fields: [(String, JSONText)] = [
        ("id", .integer(Int64(worker.index))),
        ("thread_id", .integer(Int64(worker.threadID))),
        ("pinned_core", worker.pinnedCore.map { .integer(Int64($0)) } ?? .null),
        ("ring_flags", .string(worker.ringFlags)),
        ("connections", .integer(Int64(worker.connections))),
        ("peers", .integer(Int64(worker.peers))),
        ("pool_bytes_in_use", .integer(Int64(worker.poolBytesInUse))),
      ]
      if let perWorker = metrics.perWorker, worker.index < perWorker.count {
        let stats = perWorker[worker.index]
        fields += [
          ("recv_bytes", .unsigned(stats.bytesReceived)),
          ("send_bytes", .unsigned(stats.bytesSent)),
          ("recv_packets", .unsigned(stats.packetsReceived)),
          ("send_packets", .unsigned(stats.packetsSent)),
          ("send_drops", .unsigned(stats.dropped(.writeError))),
          ("xfer_drops", .unsigned(stats.dropped(.xferRingFull))),
          ("slab_exhausts", .unsigned(stats.dropped(.noMemory))),
          ("packets_dropped", .unsigned(stats.packetsDropped.reduce(0) { $0 &+ $1.reduce(0, &+) })),
          ("recv_enobufs", .unsigned(stats.recvBufferExhaustions)),
          ("send_calls", .unsigned(stats.sendCalls)),
        ]
      }
      return .object(fields)
    }
    return json(.object([("workers", .array(entries))]))
  }

  static func peers(_ peers: [PeerInfo]) -> HTTPResponse {
    let entries = peers.map { peer -> JSONText in
      .object([
        ("key", .string(peer.key.hex)),
        ("remote_address", .string(peer.remoteAddress)),
        ("worker", .integer(Int64(peer.worker))),
        ("transport", .string(peer.transport.label)),
        ("preferred", .bool(peer.isPreferred)),
        ("duplicate", .bool(peer.isDuplicate)),
        ("active", .bool(peer.isActive)),
        ("queued_packets", .integer(Int64(peer.queuedPackets))),
        ("connected_seconds", .number(peer.connectedSeconds)),
      ])
    }
    return json(.object([("count", .integer(Int64(peers.count))), ("peers", .array(entries))]))
  }

  /// Each mesh.peers link (up or not, keys learned from it) and every key
  /// this relay can reach through the mesh: what the region harness compares
  /// with the other relays' /debug/peers.
  static func mesh(_ mesh: MeshInfo?) -> HTTPResponse {
    guard let mesh else { return json(.object([("links", .array([])), ("remote_keys", .array([]))])) }
    let links = mesh.links.map { link -> JSONText in
      .object([
        ("peer", .string(link.peer)), ("connected", .bool(link.connected)),
        ("key_count", .integer(Int64(link.keys.count))), ("keys", .array(link.keys.map(\.hex).sorted().map { .string($0) })),
      ])
    }
    return json(.object([
      ("links", .array(links)), ("remote_key_count", .integer(Int64(mesh.remoteKeys.count))),
      ("remote_keys", .array(mesh.remoteKeys.map(\.hex).sorted().map { .string($0) })),
    ]))
  }

  private static func json(_ value: JSONText) -> HTTPResponse {
    HTTPResponse(status: .ok, contentType: "application/json", body: Array((value.serialized + "\n").utf8))
  }
}
