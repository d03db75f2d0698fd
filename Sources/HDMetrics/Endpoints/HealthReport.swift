// /health: the C++ server's fields (status, uptime_seconds, workers,
// peers_active, recv_bytes, send_bytes) plus the DERP port's TLS mode and a
// `checks` object and the served certificates. 200 only while serving; 503
// while starting, draining or when a check fails, so load balancers stop
// sending clients. A DERP certificate that expires soon is reported, not
// failed (the relay still serves every client); an expired one fails,
// because every client refuses it. The metrics certificate never fails
// /health: DERP clients do not see it.
import HDConfig
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
    let derpCertificateValid = !metrics.certificates.contains {
      $0.listener == .derp && $0.summary.isExpired(now: metrics.nowSeconds)
    }
    let status: String
    let healthy: Bool
    // ACME without a certificate yet: no TLS client can connect.
    let acmeServing = metrics.acme?.serving ?? true
    switch state {
    case .starting:
      (status, healthy) = ("starting", false)
    case .draining:
      (status, healthy) = ("draining", false)
    case .serving:
      (status, healthy) =
        workersRunning && derpCertificateValid && acmeServing ? ("ok", true) : ("failing", false)
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
      ("tls_certificates", .array(metrics.certificates.map { certificate($0, nowSeconds: metrics.nowSeconds) })),
      ("acme", metrics.acme.map(acmeField) ?? .null),
      (
        "checks",
        .object([
          ("started", .bool(state != .starting)),
          ("not_draining", .bool(state != .draining)),
          ("workers_running", .bool(workersRunning)),
          ("derp_certificate_not_expired", .bool(derpCertificateValid)),
        ] + (metrics.acme == nil ? [] : [("acme_certificate_serving", .bool(acmeServing))]))
      ),
    ])
    return HTTPResponse(
      status: healthy ? .ok : .serviceUnavailable, contentType: "application/json",
      body: Array((body.serialized + "\n").utf8))
  }

  /// `pin` is the DERP map CertName for a self-signed certificate, null for a
  /// CA-issued one (its clients verify the CA; a pin would break at renewal).
  static func certificate(_ served: ListenerCertificate, nowSeconds: Int64) -> JSONText {
    let summary = served.summary
    return .object([
      ("listener", .string(served.listener.rawValue)),
      ("not_after", .string(UTCDate.formatTimestamp(summary.notAfter))),
      ("days_left", .integer(summary.daysLeft(now: nowSeconds))),
      ("expired", .bool(summary.isExpired(now: nowSeconds))),
      ("self_signed", .bool(summary.selfSigned)),
      ("pin", summary.selfSigned ? .string(summary.pin.certName) : .null),
    ])
  }

  /// The ACME client's state: what it serves, when it tries next, how the last order went.
  static func acmeField(_ acme: ACMEStatus) -> JSONText {
    .object([
      ("state", .string(acme.state)),
      ("identifiers", .array(acme.identifiers.map { .string($0) })),
      ("serial", acme.certificateSerialHex.map { .string($0) } ?? .null),
      ("not_after", acme.certificateNotAfterSeconds.map { .string(UTCDate.formatTimestamp($0)) } ?? .null),
      ("next_attempt", acme.nextAttemptSeconds.map { .string(UTCDate.formatTimestamp($0)) } ?? .null),
      ("consecutive_failures", .integer(Int64(acme.consecutiveFailures))),
      ("last_error", acme.lastError.map { .string($0) } ?? .null),
      ("certificates_issued", .unsigned(acme.issuedTotal)),
    ])
  }
}
