// The UDP STUN responder (stun_port): written only when a responder is
// attached, i.e. stun_port != 0. A daemon without STUN shows no STUN families
// rather than zeros that would look like an idle responder.
import HDRelay

extension MetricsExposition {
  static func writeSTUN(_ stun: STUNStatsSnapshot, to writer: inout PrometheusTextWriter) {
    writer.family(
      "hyper_derp_stun_requests_total", type: .counter,
      help: "Well-formed STUN Binding Requests, by the client's address family (derper's stun_addrfamily).",
      samples: [
        PrometheusSample([("family", "ipv4")], .integer(stun.requestsIPv4)),
        PrometheusSample([("family", "ipv6")], .integer(stun.requestsIPv6)),
      ])
    writer.counter(
      "hyper_derp_stun_responses_total",
      help: "STUN Binding Success Responses the kernel accepted (derper's stun_requests{disposition=\"success\"}).",
      stun.responses)
    writer.counter(
      "hyper_derp_stun_send_failures_total",
      help: "STUN answers the kernel refused to send (derper's stun_requests{disposition=\"write_error\"}).",
      stun.sendFailures)
    writer.counter(
      "hyper_derp_stun_receive_errors_total",
      help: "Receive errors on the STUN sockets (derper's stun_requests{disposition=\"read_error\"}).",
      stun.receiveErrors)
    writer.family(
      "hyper_derp_stun_dropped_total", type: .counter,
      help: "Datagrams on the STUN port dropped without an answer, by reason (derper's disposition=\"not_stun\").",
      samples: STUNDropReason.allCases.map {
        PrometheusSample([("reason", $0.label)], .integer(stun.drops($0)))
      })
  }
}
