// Certificates (check-config's own file checks, reused) and the running relay.
import HDConfig

extension DoctorChecks {
  static func certificates(_ context: DoctorContext, prefix: String) -> CheckOutcome {
    let certKey = prefix + "tls_cert"
    let keyKey = prefix + "tls_key"
    let cert = prefix.isEmpty ? context.config.tlsCert : context.config.metrics.tlsCert
    let key = prefix.isEmpty ? context.config.tlsKey : context.config.metrics.tlsKey
    guard cert != nil || key != nil else {
      return .ok(prefix.isEmpty
        ? "tls_cert/tls_key not set: the DERP port serves plain TCP"
        : "metrics.tls_cert/tls_key not set: metrics are served over plain HTTP")
    }
    let findings = context.loaded.diagnostics.filter { $0.keyPath == certKey || $0.keyPath == keyKey }
    let fix = "hdctl check-config \(context.configFileForFixes)"
    if let error = findings.first(where: { $0.isError }) {
      return .error(error.message, fix: error.suggestion.map { "\($0); then: \(fix)" } ?? fix)
    }
    if let warning = findings.first {
      return .warning(warning.message, fix: warning.suggestion.map { "\($0); then: \(fix)" } ?? fix)
    }
    return .ok("\(certKey) \(cert ?? "-") and \(keyKey) \(key ?? "-") load, match and do not expire within 14 days")
  }

  /// How long the health request may take in total.
  static let healthTimeoutMilliseconds = 1500

  static func relayHealth(_ context: DoctorContext) -> CheckOutcome {
    let metrics = context.config.metrics
    guard metrics.port > 0 else {
      return .skipped("metrics.port is 0: the relay serves no /health to ask")
    }
    let host = healthHost(metrics.bind)
    let target = host.contains(":") ? "[\(host)]:\(metrics.port)" : "\(host):\(metrics.port)"
    guard metrics.tlsCert == nil else {
      return .skipped("metrics are served over HTTPS; ask by hand: curl -k https://\(target)/health")
    }
    let url = "http://\(target)/health"
    switch askHealth(context, host: host, port: metrics.port) {
    case .answered(let status, let body):
      let snippet = oneLine(body, limit: 100)
      if status == 200 {
        return .ok("GET \(url): 200 \(snippet)")
      }
      return .error(
        "GET \(url): \(status) \(snippet)",
        fix: "journalctl -u hyper-derp -n 50   # the relay reports why it is unhealthy")
    case .unreachable(let reason):
      return .warning(
        "no relay answers GET \(url) (\(reason))",
        fix: "systemctl start hyper-derp; journalctl -u hyper-derp -n 50")
    }
  }

  /// GET /health once per doctor run, whichever check asks first.
  static func askHealth(_ context: DoctorContext, host: String, port: Int) -> HealthProbeResult {
    context.relayHealthAnswer.get {
      context.probes.httpGet(host: host, port: port, path: "/health", timeoutMilliseconds: healthTimeoutMilliseconds)
    }
  }

  /// The first configured metrics address, or loopback for "all addresses".
  static func healthHost(_ bind: [String]) -> String {
    guard let first = bind.first else { return "127.0.0.1" }
    if first == "0.0.0.0" { return "127.0.0.1" }
    if first == "::" { return "::1" }
    return first
  }

  static func oneLine(_ text: String, limit: Int) -> String {
    let flat = String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 }).trimmingWhitespace()
    return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
  }
}
