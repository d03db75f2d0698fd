// `hdctl status`: one screen about a running relay, read from its metrics
// server's /health (JSON) and two /metrics scrapes an interval apart (rates).
// Everything shown is something the relay already publishes; nothing here
// needs access to the relay's host.
import HDConfig
import HDProtocol

public struct RelayStatus: Sendable {
  public var url: String
  public var health: String
  public var healthHTTPStatus: Int
  public var version: String?
  public var uptimeSeconds: Double?
  public var workers: Int?
  public var peers: Int?
  public var connections: Int?
  public var tlsMode: String?
  public var ktls: String?
  public var connectionsByTransport: [String: Int] = [:]
  public var meshPeersConfigured: Int?
  public var meshPeersConnected: Int?
  public var watchers: Int?
  public var recvBytesTotal: Double?
  public var sendBytesTotal: Double?
  /// Over the sampling interval.
  public var recvBytesPerSecond: Double?
  public var sendBytesPerSecond: Double?
  public var sendPacketsPerSecond: Double?
  /// Totals since start, by reason, and per second over the interval.
  public var dropsByReason: [String: Double] = [:]
  public var dropsPerSecondByReason: [String: Double] = [:]
  /// listener ("derp", "metrics") → notAfter, seconds since the epoch.
  public var certificateExpiry: [String: Double] = [:]
  public var openFileDescriptors: Double?
  public var maxFileDescriptors: Double?
  public var stunRequestsTotal: Double?
  public var intervalSeconds: Double
  public var nowSeconds: Int64
}

public struct RelayStatusRequest: Sendable {
  public var metricsURL: HTTPURL
  public var trustedCertificatesFile: String?
  /// Time between the two /metrics scrapes the rates come from.
  public var intervalSeconds: Double = 1

  public init(metricsURL: HTTPURL, trustedCertificatesFile: String? = nil, intervalSeconds: Double = 1) {
    self.metricsURL = metricsURL
    self.trustedCertificatesFile = trustedCertificatesFile
    self.intervalSeconds = intervalSeconds
  }
}

public enum RelayStatusReader {
  public static func read(_ request: RelayStatusRequest, sleep: (Double) -> Void) -> Result<RelayStatus, HTTPFetchError> {
    var base = request.metricsURL
    base.pathAndQuery = ""
    let baseText = "\(base.isHTTPS ? "https" : "http")://\(base.hostHeader)"
    func fetch(_ path: String) -> Result<HTTPFetchResponse, HTTPFetchError> {
      var url = request.metricsURL
      url.pathAndQuery = path
      return HTTPFetch.get(url, trustedCertificatesFile: request.trustedCertificatesFile)
    }
    let before: PrometheusSamples
    switch fetch("/metrics") {
    case .failure(let error): return .failure(error)
    case .success(let response):
      guard response.status == 200 else { return .failure(HTTPFetchError("\(baseText)/metrics answered \(response.status)")) }
      before = PrometheusSamples(text: response.bodyText)
    }
    let started = MonotonicClock.seconds()
    sleep(request.intervalSeconds)
    let health: HTTPFetchResponse
    switch fetch("/health") {
    case .failure(let error): return .failure(error)
    case .success(let response): health = response
    }
    let after: PrometheusSamples
    switch fetch("/metrics") {
    case .failure(let error): return .failure(error)
    case .success(let response):
      guard response.status == 200 else { return .failure(HTTPFetchError("\(baseText)/metrics answered \(response.status)")) }
      after = PrometheusSamples(text: response.bodyText)
    }
    let elapsed = max(MonotonicClock.seconds() - started, 0.001)
    return .success(combine(url: baseText, health: health, before: before, after: after, elapsedSeconds: elapsed))
  }

  static func combine(
    url: String, health: HTTPFetchResponse, before: PrometheusSamples, after: PrometheusSamples, elapsedSeconds: Double
  ) -> RelayStatus {
    var status = RelayStatus(
      url: url, health: "unknown", healthHTTPStatus: health.status, intervalSeconds: elapsedSeconds,
      nowSeconds: UTCDate.nowSeconds())
    if let json = try? JSONValue.parse(health.body), case .object(let fields) = json {
      if case .string(let text)? = JSONValue.field(fields, "status") { status.health = text }
      status.uptimeSeconds = number(fields, "uptime_seconds")
      status.workers = number(fields, "workers").map { Int($0) }
      status.peers = number(fields, "peers_active").map { Int($0) }
      status.connections = number(fields, "connections").map { Int($0) }
      if case .string(let text)? = JSONValue.field(fields, "tls_mode") { status.tlsMode = text }
      if case .string(let text)? = JSONValue.field(fields, "ktls") { status.ktls = text }
      if case .object(let byTransport)? = JSONValue.field(fields, "connections_by_transport") {
        for (key, _) in byTransport { status.connectionsByTransport[key] = number(byTransport, key).map { Int($0) } }
      }
      if case .object(let mesh)? = JSONValue.field(fields, "mesh_peers") {
        status.meshPeersConfigured = number(mesh, "configured").map { Int($0) }
        status.meshPeersConnected = number(mesh, "connected").map { Int($0) }
      }
    }
    status.version = after.first("hyper_derp_build_info")?.labels["version"]
    status.watchers = after.sum("hyper_derp_watchers").map { Int($0) }
    status.peers = status.peers ?? after.sum("hyper_derp_peers_active").map { Int($0) }
    status.workers = status.workers ?? after.sum("hyper_derp_workers").map { Int($0) }
    status.recvBytesTotal = after.sum("hyper_derp_recv_bytes_total")
    status.sendBytesTotal = after.sum("hyper_derp_send_bytes_total")
    func rate(_ name: String) -> Double? {
      guard let now = after.sum(name), let then = before.sum(name) else { return nil }
      return max(0, now - then) / elapsedSeconds
    }
    status.recvBytesPerSecond = rate("hyper_derp_recv_bytes_total")
    status.sendBytesPerSecond = rate("hyper_derp_send_bytes_total")
    status.sendPacketsPerSecond = rate("hyper_derp_send_packets_total")
    status.dropsByReason = after.sumBy("hyper_derp_packets_dropped_total", label: "reason")
    let dropsBefore = before.sumBy("hyper_derp_packets_dropped_total", label: "reason")
    for (reason, total) in status.dropsByReason {
      status.dropsPerSecondByReason[reason] = max(0, total - (dropsBefore[reason] ?? 0)) / elapsedSeconds
    }
    for sample in after.samples where sample.name == RelayMetricNames.certificateExpiry {
      status.certificateExpiry[sample.labels["listener"] ?? ""] = sample.value
    }
    status.openFileDescriptors = after.sum("process_open_fds")
    status.maxFileDescriptors = after.sum("process_max_fds")
    status.stunRequestsTotal = after.sum("hyper_derp_stun_requests_total")
    return status
  }

  static func number(_ fields: [(String, JSONValue)], _ name: String) -> Double? {
    if case .number(let text)? = JSONValue.field(fields, name) { return Double(text) }
    return nil
  }
}

/// Metric names of the relay that hdctl reads by name.
public enum RelayMetricNames {
  public static let certificateExpiry = "hyper_derp_tls_cert_expiry_timestamp_seconds"
}
