// /health: the C++ server's fields (status, uptime_seconds, workers,
// peers_active, recv_bytes, send_bytes) plus the DERP port's TLS mode and a
// `checks` object. 200 only while serving; 503 while starting, draining or
// when a check fails, so load balancers stop sending clients.
import HDRelay

/// Lifecycle state the daemon reports to the metrics server.
enum ServingState: String {
  /// The relay is not accepting yet.
  case starting
  case serving
  /// Shutdown began: existing peers are being drained.
  case draining
}

enum HealthReport {
  static func response(_ metrics: CollectedMetrics, state: ServingState, uptimeSeconds: Int) -> HTTPResponse {
    let workersRunning = !metrics.workers.isEmpty
    let status: String
    let healthy: Bool
    switch state {
    case .starting:
      (status, healthy) = ("starting", false)
    case .draining:
      (status, healthy) = ("draining", false)
    case .serving:
      (status, healthy) = workersRunning ? ("ok", true) : ("failing", false)
    }
    let totals = metrics.totals
    let byTransport = TransportMode.allCases.map {
      ($0.label, JSONText.unsigned(totals.currentConnectionsByTransport[$0.rawValue]))
    }
    let body = JSONText.object([
      ("status", .string(status)),
      ("uptime_seconds", .integer(Int64(uptimeSeconds))),
      ("workers", .integer(Int64(metrics.workers.count))),
      ("peers_active", .unsigned(metrics.peersActive)),
      ("recv_bytes", .unsigned(totals.bytesReceived)),
      ("send_bytes", .unsigned(totals.bytesSent)),
      ("tls_mode", .string(metrics.dataPlaneTLS.mode)),
      ("ktls", .string(metrics.dataPlaneTLS.kernelTLSSetting)),
      ("connections", .unsigned(totals.currentConnections)),
      ("connections_by_transport", .object(byTransport)),
      (
        "mesh_peers",
        .object([
          ("configured", .unsigned(totals.meshPeersConfigured)), ("connected", .unsigned(totals.meshPeersConnected)),
        ])
      ),
      (
        "checks",
        .object([
          ("started", .bool(state != .starting)),
          ("not_draining", .bool(state != .draining)),
          ("workers_running", .bool(workersRunning)),
        ])
      ),
    ])
    return HTTPResponse(
      status: healthy ? .ok : .serviceUnavailable, contentType: "application/json",
      body: Array((body.serialized + "\n").utf8))
  }
}
