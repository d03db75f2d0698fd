// TLS on the DERP port: handshakes, failures by reason, and what happened at
// the switch to kernel TLS. Zero everywhere when the port is plain TCP.
import HDRelay
import HDTLS

extension MetricsExposition {
  static func writeTLS(_ tls: TLSStatsSnapshot, to writer: inout PrometheusTextWriter) {
    writer.family(
      "hyper_derp_tls_handshakes_total", type: .counter,
      help: "Completed TLS handshakes on the DERP port, by TLS version.",
      samples: [
        PrometheusSample([("version", "1.2")], .integer(tls.handshakesTLS12)),
        PrometheusSample([("version", "1.3")], .integer(tls.handshakesTLS13)),
      ])
    writer.family(
      "hyper_derp_tls_handshake_failures_total", type: .counter,
      help: "Failed TLS handshakes on the DERP port, by reason.",
      samples: TLSFailureReason.allCases.map {
        PrometheusSample([("reason", $0.label)], .integer(tls.handshakeFailures[$0.rawValue]))
      })
    writer.counter(
      "hyper_derp_ktls_installs_total",
      help: "TLS connections whose keys were installed in the kernel (kernel TLS, both directions).",
      tls.kernelInstalls)
    writer.family(
      "hyper_derp_ktls_fallbacks_total", type: .counter,
      help: "TLS connections that wanted kernel TLS but stayed in userspace, by reason.",
      samples: [
        PrometheusSample([("reason", "cipher")], .integer(tls.kernelFallbackCipher)),
        PrometheusSample([("reason", "partial_record")], .integer(tls.kernelFallbackPartialRecord)),
        PrometheusSample([("reason", "other")], .integer(tls.kernelFallbackOther)),
      ])
    writer.counter(
      "hyper_derp_ktls_install_errors_total",
      help: "Kernel TLS key installs the kernel refused (the connection was closed).",
      tls.kernelInstallErrors)
    writer.family(
      "hyper_derp_tls_close_notify_received_total", type: .counter,
      help: "TLS close_notify alerts received, by where the record was decrypted.",
      samples: [
        PrometheusSample([("path", "kernel")], .integer(tls.kernelCloseNotify)),
        PrometheusSample([("path", "userspace")], .integer(tls.userspaceCloseNotify)),
      ])
    writer.counter(
      "hyper_derp_ktls_alerts_received_total",
      help: "TLS alerts other than close_notify received on kernel TLS connections.",
      tls.kernelAlerts)
    writer.counter(
      "hyper_derp_ktls_other_records_total",
      help: "Non-data TLS records (KeyUpdate, ...) received on kernel TLS connections.",
      tls.kernelOtherRecords)
    writer.counter(
      "hyper_derp_tls_record_errors_total",
      help: "Userspace TLS connections closed after the handshake for a bad record, record overflow or alert.",
      tls.userspaceRecordErrors)
    writer.family(
      "hyper_derp_tls_record_layer_total", type: .counter,
      help: "Userspace TLS connections whose records the worker seals and opens itself after the handshake "
        + "(switched), or that stayed on OpenSSL's record layer (fallback).",
      samples: [
        PrometheusSample([("outcome", "switched")], .integer(tls.recordLayerSwitches)),
        PrometheusSample([("outcome", "fallback")], .integer(tls.recordLayerFallbacks)),
      ])
    writer.family(
      "hyper_derp_tls_key_updates_total", type: .counter,
      help: "TLS 1.3 KeyUpdate messages on the worker's record layer, by direction.",
      samples: [
        PrometheusSample([("direction", "received")], .integer(tls.keyUpdatesReceived)),
        PrometheusSample([("direction", "sent")], .integer(tls.keyUpdatesSent)),
      ])
  }

  /// Only listeners with TLS have a sample; the alert rules compare it with time().
  static func writeCertificateExpiry(_ certificates: [ListenerCertificate], to writer: inout PrometheusTextWriter) {
    guard !certificates.isEmpty else { return }
    writer.family(
      "hyper_derp_tls_cert_expiry_timestamp_seconds", type: .gauge,
      help: "When the certificate a TLS listener serves now expires (notAfter), seconds since the epoch; "
        + "follows SIGHUP reloads.",
      samples: certificates.map {
        PrometheusSample([("listener", $0.listener.rawValue)], .integer(UInt64(clamping: $0.summary.notAfter)))
      })
  }
}
