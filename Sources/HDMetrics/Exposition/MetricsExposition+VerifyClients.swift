// The admission controller (verify_clients.url): all zero when it is not
// configured, like the TLS families, so dashboards need no conditionals.
import HDRelay

extension MetricsExposition {
  static func writeVerifyClients(_ verify: VerifyClientsStatsSnapshot, to writer: inout PrometheusTextWriter) {
    writer.family(
      "hyper_derp_verify_clients_total", type: .counter,
      help: "Admission-controller answers for new clients (verify_clients.url), by decision.",
      samples: [
        PrometheusSample([("decision", "allowed")], .integer(verify.allowed)),
        PrometheusSample([("decision", "denied")], .integer(verify.denied)),
      ])
    writer.family(
      "hyper_derp_verify_clients_errors_total", type: .counter,
      help: "Verifications that got no valid answer, by reason; fail_open decides the reachability ones.",
      samples: VerifyError.allCases.map {
        PrometheusSample([("reason", $0.label)], .integer(verify.errors($0)))
      })
    writer.counter(
      "hyper_derp_verify_clients_fail_open_admits_total",
      help: "Clients admitted without an answer because verify_clients.fail_open is true.",
      verify.failOpenAdmits)
  }
}
