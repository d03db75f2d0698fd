// The /metrics document: the C++ server's families under their names first
// (spec/hyper-derp-cxx.md §2.2), then derper's semantics in Prometheus style,
// the admission controller, the STUN responder when one is attached,
// per-worker series, the metrics server's own counters, build info and the
// standard process metrics. docs/metrics.md lists every family; keep it in sync.
import HDRelay

enum MetricsExposition {
  static func render(_ metrics: CollectedMetrics) -> String {
    var writer = PrometheusTextWriter()
    writeCxxCompatible(metrics, to: &writer)
    writeTraffic(metrics.totals, to: &writer)
    writeConnections(metrics.totals, to: &writer)
    writeFrames(metrics.totals, to: &writer)
    writeTLS(metrics.totals.tls, to: &writer)
    writeCertificateExpiry(metrics.certificates, to: &writer)
    writeVerifyClients(metrics.totals.verifyClients, to: &writer)
    if let stun = metrics.stun { writeSTUN(stun, to: &writer) }
    if let acme = metrics.acme { writeACME(acme, to: &writer) }
    writePerWorker(metrics, to: &writer)
    writeServer(metrics.server, to: &writer)
    writer.family(
      "hyper_derp_build_info", type: .gauge, help: "Always 1; the labels describe the running build.",
      samples: [PrometheusSample([("version", metrics.build.version)], .integer(1))])
    if let process = metrics.process { writeProcess(process, to: &writer) }
    return writer.text
  }

  /// Same names and meaning as the C++ hyper-derp, so its dashboards keep working.
  private static func writeCxxCompatible(_ metrics: CollectedMetrics, to writer: inout PrometheusTextWriter) {
    let totals = metrics.totals
    writer.counter(
      "hyper_derp_recv_bytes_total",
      help: "Bytes read from DERP peer sockets after the handshake, frame headers included.",
      totals.bytesReceived)
    writer.counter(
      "hyper_derp_send_bytes_total", help: "Bytes written to DERP peer sockets, frame headers included.",
      totals.bytesSent)
    writer.counter(
      "hyper_derp_xfer_drops_total",
      help: "Packets dropped because the cross-worker ring to the destination's worker was full.",
      totals.dropped(.xferRingFull))
    writer.counter(
      "hyper_derp_slab_exhausts_total",
      help: "Packets dropped because the worker's packet memory (pool and heap fallback) was used up.",
      totals.dropped(.noMemory))
    writer.counter(
      "hyper_derp_send_drops_total",
      help: "Packets dropped because the destination's socket failed or timed out with packets queued.",
      totals.dropped(.writeError))
    writer.counter(
      "hyper_derp_recv_enobufs_total",
      help: "Multishot receives that ran out of provided buffers (ENOBUFS) and were re-armed.",
      totals.recvBufferExhaustions)
    writer.gauge(
      "hyper_derp_peers_active", help: "Registered DERP peers (connections past the handshake).",
      .integer(metrics.peersActive))
    writer.gauge("hyper_derp_workers", help: "Data-plane worker threads.", .integer(UInt64(metrics.workers.count)))
    writer.counter(
      "hyper_derp_frame_pool_misses_total",
      help: "Packet buffers taken from the heap because the worker's pool was empty.",
      totals.poolFallbacks)
    writer.counter(
      "hyper_derp_packets_sent_in_place_total",
      help: "RecvPacket frames sent straight from the receive buffer their SendPacket arrived in (no copy).",
      totals.packetsSentInPlace)
    writer.counter(
      "hyper_derp_in_place_limit_copies_total",
      help: "Frames copied into packet memory instead because queued frames already held the most receive buffers allowed.",
      totals.inPlaceHoldLimitCopies)
    writer.gauge(
      "hyper_derp_recv_buffers_held",
      help: "Receive buffers kept from the kernel because queued frames still point into them.",
      .integer(totals.recvBuffersHeldForFrames))
  }

  /// derper's packet counters (derp_packets_received, derp_packets_dropped…), Prometheus-style.
  private static func writeTraffic(_ totals: RelayStatsSnapshot, to writer: inout PrometheusTextWriter) {
    writer.family(
      "hyper_derp_recv_packets_total", type: .counter,
      help: "SendPacket frames read from clients, by packet kind (derp_packets_received_kind).",
      samples: [
        PrometheusSample([("kind", PacketKind.disco.label)], .integer(totals.packetsReceivedDisco)),
        PrometheusSample([("kind", PacketKind.other.label)], .integer(totals.packetsReceivedOther)),
      ])
    writer.counter(
      "hyper_derp_send_packets_total", help: "RecvPacket frames written to clients (derp_packets_sent).",
      totals.packetsSent)
    writer.family(
      "hyper_derp_packets_dropped_total", type: .counter,
      help: "Packets not delivered, by reason and packet kind (derp_packets_dropped).",
      samples: dropSamples(totals.packetsDropped))
    writer.family(
      "hyper_derp_bytes_dropped_total", type: .counter,
      help: "Payload bytes of the packets not delivered, by reason and packet kind (derp_bytes_dropped).",
      samples: dropSamples(totals.bytesDropped))
    writer.counter(
      "hyper_derp_xfer_packets_total", help: "Packets handed to another worker through the cross-worker rings.",
      totals.xferPackets)
    writer.counter(
      "hyper_derp_send_calls_total", help: "Send operations submitted to the kernel for DERP peers.", totals.sendCalls)
  }

  /// Every reason × kind pair, zeros included, so dashboards see the series before the first drop.
  private static func dropSamples(_ matrix: [[UInt64]]) -> [PrometheusSample] {
    var samples: [PrometheusSample] = []
    for reason in DropReason.allCases {
      for kind in PacketKind.allCases {
        samples.append(
          PrometheusSample(
            [("reason", reason.label), ("kind", kind.label)], .integer(matrix[reason.rawValue][kind.rawValue])))
      }
    }
    return samples
  }

  private static func writeConnections(_ totals: RelayStatsSnapshot, to writer: inout PrometheusTextWriter) {
    writer.counter(
      "hyper_derp_accepts_total", help: "TCP connections accepted on the DERP port (derp_accepts).", totals.accepts)
    writer.counter(
      "hyper_derp_accept_rate_limited_total",
      help: "Connections closed right after accept because max_accept_rate was exceeded.",
      totals.acceptRateRejections)
    writer.counter(
      "hyper_derp_accept_errors_total",
      help: "accept(2) failures other than rate limiting (EMFILE, ENFILE, ENOMEM...).", totals.acceptErrors)
    writer.gauge(
      "hyper_derp_connections",
      help: "Open sockets on the DERP port, in setup or registered (derp_current_connections).",
      .integer(totals.currentConnections))
    writer.family(
      "hyper_derp_connections_by_transport", type: .gauge,
      help: "Open DERP connections by how their bytes are carried: plain TCP, userspace TLS or kernel TLS.",
      samples: TransportMode.allCases.map {
        PrometheusSample([("transport", $0.label)], .integer(totals.currentConnectionsByTransport[$0.rawValue]))
      })
    writer.gauge(
      "hyper_derp_home_connections",
      help: "Registered peers that sent NotePreferred(true) (derp_current_home_connections).",
      .integer(totals.currentHomeConnections))
    writer.gauge(
      "hyper_derp_dup_client_keys", help: "Keys with more than one connection (derp_current_dup_client_keys).",
      .integer(totals.currentDupClientKeys))
    writer.gauge(
      "hyper_derp_dup_client_connections",
      help: "Connections whose key has more than one connection (derp_current_dup_client_conns).",
      .integer(totals.currentDupClientConns))
    writer.counter(
      "hyper_derp_dup_client_connections_total",
      help: "Connections that joined a key already connected (derp_total_dup_client_conns).",
      totals.totalDupClientConns)
    writer.gauge(
      "hyper_derp_watchers", help: "Connections subscribed to peer presence with WatchConns (derp_watchers).",
      .integer(totals.watchers))
    writer.family(
      "hyper_derp_handshake_failures_total", type: .counter,
      help: "Accepted connections that never became DERP peers, by reason.",
      samples: HandshakeFailure.allCases.map {
        PrometheusSample([("reason", $0.label)], .integer(totals.handshakeFailures[$0.rawValue]))
      })
    writer.counter(
      "hyper_derp_write_timeouts_total",
      help:
        "Connections closed because a send made no progress within the write timeout (derp_sclient_write_timeouts).",
      totals.writeTimeouts)
    writer.counter(
      "hyper_derp_protocol_errors_total",
      help: "Connections closed for a protocol violation (bad or oversized frame, mesh-only frame).",
      totals.protocolErrors)
  }

  private static func writeFrames(_ totals: RelayStatsSnapshot, to writer: inout PrometheusTextWriter) {
    writer.counter("hyper_derp_pings_received_total", help: "Ping frames received (derp_got_ping).", totals.gotPing)
    writer.counter("hyper_derp_pongs_sent_total", help: "Pong frames sent (derp_sent_pong).", totals.sentPong)
    writer.family(
      "hyper_derp_peer_gone_frames_sent_total", type: .counter,
      help: "PeerGone frames sent, by reason (derp_peer_gone_disconnected_frames, derp_peer_gone_not_here_frames).",
      samples: [
        PrometheusSample([("reason", "disconnected")], .integer(totals.peerGoneDisconnectedFrames)),
        PrometheusSample([("reason", "not_here")], .integer(totals.peerGoneNotHereFrames)),
      ])
    writer.counter(
      "hyper_derp_control_frames_dropped_total",
      help: "Control frames (Pong, PeerGone, KeepAlive...) not sent because the connection's control queue was full.",
      totals.controlFramesDropped)
    writer.counter("hyper_derp_keepalives_sent_total", help: "KeepAlive frames sent.", totals.keepAlivesSent)
    writer.counter(
      "hyper_derp_unknown_frames_total", help: "Frames of unknown type skipped (derp_unknown_frames).",
      totals.unknownFrames)
    writer.counter(
      "hyper_derp_backpressure_pauses_total",
      help:
        "Times a sender's reading was paused because a destination it sends to (or the cross-worker ring to it) "
        + "was congested.",
      totals.backpressurePauses)
    writer.gauge(
      "hyper_derp_mesh_peers_connected", help: "mesh.peers links whose watch connection is up.",
      .integer(totals.meshPeersConnected))
    writer.gauge(
      "hyper_derp_mesh_peers_configured",
      help: "mesh.peers entries (links this relay dials); an alert compares mesh_peers_connected with it.",
      .integer(totals.meshPeersConfigured))
    writer.counter(
      "hyper_derp_mesh_forwarded_packets_total",
      help: "Packets for a key on another relay of the region, sent on as ForwardPacket (mesh.peers).",
      totals.meshForwardedPackets)
    writer.counter(
      "hyper_derp_mesh_link_losses_total",
      help: "mesh.peers links that were up and were lost: the peer closed or failed, or nothing arrived for "
        + "mesh.link_timeout_seconds; each is redialled.",
      totals.meshLinkLosses)
    writer.counter(
      "hyper_derp_busy_poll_hits_total",
      help: "Polls before sleeping (busy_poll) that found work, so a wake-up was saved.", totals.busyPollHits)
    writer.counter(
      "hyper_derp_busy_poll_misses_total",
      help: "Polls before sleeping (busy_poll) that found nothing and slept.", totals.busyPollMisses)
    writer.counter(
      "hyper_derp_rate_limit_pauses_total",
      help: "Times a peer's reading was paused by peer_rate_limit (packets are delayed, never dropped).",
      totals.rateLimitPauses)
  }

  private static func writePerWorker(_ metrics: CollectedMetrics, to writer: inout PrometheusTextWriter) {
    if let counters = metrics.perWorker {
      func perWorker(_ value: (RelayStatsSnapshot) -> UInt64) -> [PrometheusSample] {
        counters.enumerated().map { PrometheusSample([("worker", String($0.offset))], .integer(value($0.element))) }
      }
      writer.family(
        "hyper_derp_worker_recv_bytes_total", type: .counter, help: "Bytes read from DERP peer sockets, per worker.",
        samples: perWorker(\.bytesReceived))
      writer.family(
        "hyper_derp_worker_send_bytes_total", type: .counter, help: "Bytes written to DERP peer sockets, per worker.",
        samples: perWorker(\.bytesSent))
      writer.family(
        "hyper_derp_worker_recv_packets_total", type: .counter,
        help: "SendPacket frames read from clients, per worker.",
        samples: perWorker(\.packetsReceived))
      writer.family(
        "hyper_derp_worker_send_packets_total", type: .counter,
        help: "RecvPacket frames written to clients, per worker.",
        samples: perWorker(\.packetsSent))
      writer.family(
        "hyper_derp_worker_packets_dropped_total", type: .counter,
        help: "Packets not delivered (all reasons), per worker that dropped them.",
        samples: perWorker { $0.packetsDropped.reduce(0) { $0 &+ $1.reduce(0, &+) } })
    }
    writer.family(
      "hyper_derp_worker_connections", type: .gauge, help: "Open DERP connections owned by each worker.",
      samples: metrics.workers.map {
        PrometheusSample([("worker", String($0.index))], .integer(UInt64($0.connections)))
      })
    writer.family(
      "hyper_derp_worker_peers", type: .gauge, help: "Registered DERP peers owned by each worker.",
      samples: metrics.workers.map { PrometheusSample([("worker", String($0.index))], .integer(UInt64($0.peers))) })
    writer.family(
      "hyper_derp_worker_pool_in_use_bytes", type: .gauge, help: "Packet-buffer pool memory in use, per worker.",
      samples: metrics.workers.map {
        PrometheusSample([("worker", String($0.index))], .integer(UInt64($0.poolBytesInUse)))
      })
  }

  private static func writeServer(_ server: MetricsServerCounters, to writer: inout PrometheusTextWriter) {
    writer.family(
      "hyper_derp_metrics_http_responses_total", type: .counter,
      help: "Responses of this metrics server, by HTTP status code.",
      samples: HTTPStatus.allCases.map {
        PrometheusSample([("code", String($0.rawValue))], .integer(server.responses[$0] ?? 0))
      })
    writer.counter(
      "hyper_derp_metrics_connections_rejected_total",
      help: "Metrics connections closed at once because the connection cap was reached.",
      server.connectionsRejected)
  }

  /// The names every Prometheus client library uses for these.
  private static func writeProcess(_ process: ProcessMetrics, to writer: inout PrometheusTextWriter) {
    writer.family(
      "process_cpu_seconds_total", type: .counter, help: "Total user and system CPU time spent in seconds.",
      samples: [PrometheusSample([], .double(process.cpuSeconds))])
    writer.gauge(
      "process_open_fds", help: "Number of open file descriptors.", .integer(UInt64(process.openFileDescriptors)))
    writer.gauge(
      "process_max_fds", help: "Maximum number of open file descriptors.", .integer(process.maxFileDescriptors))
    writer.gauge(
      "process_resident_memory_bytes", help: "Resident memory size in bytes.", .integer(process.residentMemoryBytes))
    writer.gauge(
      "process_virtual_memory_bytes", help: "Virtual memory size in bytes.", .integer(process.virtualMemoryBytes))
    writer.gauge(
      "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.",
      .double(process.startTimeSeconds))
  }
}
