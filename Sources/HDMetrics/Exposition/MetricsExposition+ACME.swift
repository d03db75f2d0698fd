// The ACME client (acme section): written only when ACME runs. The expiry of
// the certificate it installed is `hyper_derp_tls_cert_expiry_timestamp_seconds`
// like any other; these families say how issuance and renewal are going.
import HDRelay

extension MetricsExposition {
  static func writeACME(_ acme: ACMEStatus, to writer: inout PrometheusTextWriter) {
    writer.gauge(
      "hyper_derp_acme_certificate_serving",
      help: "1 while an ACME certificate is in service on the DERP port; 0 while none has been issued (TLS clients fail).",
      .integer(acme.serving ? 1 : 0))
    writer.counter(
      "hyper_derp_acme_certificates_issued_total", help: "Certificates obtained and installed since start (renewals included).",
      acme.issuedTotal)
    writer.family(
      "hyper_derp_acme_order_failures_total", type: .counter,
      help: "Orders that failed, by class: unreachable CA, rejected by the CA, challenge failed, protocol, local.",
      samples: ACMEStatus.failureLabels.map {
        PrometheusSample([("reason", $0)], .integer(acme.failuresTotal[$0] ?? 0))
      })
    writer.gauge(
      "hyper_derp_acme_consecutive_failures", help: "Orders in a row that failed; 0 after a success.",
      .integer(UInt64(acme.consecutiveFailures)))
    writer.gauge(
      "hyper_derp_acme_next_attempt_timestamp_seconds",
      help: "When the next order starts (renewal, or the next retry after a failure), Unix seconds.",
      .signed(acme.nextAttemptSeconds ?? 0))
    writer.counter(
      "hyper_derp_acme_cache_rejected_total",
      help: "Cached certificates found unusable at start (corrupt, wrong key or names, expired) and not served.",
      acme.cacheRejectedTotal)
    writer.family(
      "hyper_derp_acme_challenges_answered_total", type: .counter,
      help: "Challenge answers given: TLS-ALPN-01 handshakes on the DERP port, HTTP-01 requests on acme.http_port.",
      samples: [
        PrometheusSample([("challenge", "tls-alpn-01")], .integer(acme.tlsALPNAnswered)),
        PrometheusSample([("challenge", "http-01")], .integer(acme.http01Answered)),
      ])
  }
}
