// `hdctl status` output: a screen for people, one JSON object for programs.
import HDConfig
import HDProtocol

extension RelayStatus {
  public func text() -> String {
    var lines: [String] = []
    func row(_ label: String, _ value: String) { lines.append(label.padding(16) + value) }
    row("relay", url + (version.map { "  (hyper-derp \($0))" } ?? ""))
    row("health", "\(health) (HTTP \(healthHTTPStatus))")
    if let uptimeSeconds { row("uptime", Self.duration(uptimeSeconds)) }
    if let workers { row("workers", "\(workers)") }
    row("peers", "\(peers.map(String.init) ?? "?") registered, \(connections.map(String.init) ?? "?") connections")
    row(
      "throughput",
      "recv \(Self.rate(recvBytesPerSecond)), send \(Self.rate(sendBytesPerSecond)), "
        + "\(Self.number(sendPacketsPerSecond)) packets/s (over \(Self.number(intervalSeconds)) s)")
    row("since start", "recv \(Self.bytes(recvBytesTotal)), send \(Self.bytes(sendBytesTotal))")
    let drops = dropsByReason.filter { $0.value > 0 }.sorted { $0.key < $1.key }
    row(
      "drops",
      drops.isEmpty
        ? "none"
        : drops.map { "\($0.key) \(Int($0.value)) (\(Self.number(dropsPerSecondByReason[$0.key] ?? 0))/s)" }.joined(separator: ", "))
    var tls = tlsMode ?? "?"
    if let ktls { tls += ", ktls: \(ktls)" }
    if !connectionsByTransport.isEmpty {
      tls += "; connections " + connectionsByTransport.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
    row("tls", tls)
    if let configured = meshPeersConfigured, configured > 0 || (watchers ?? 0) > 0 {
      row("mesh", "\(meshPeersConnected ?? 0)/\(configured) links up, \(watchers ?? 0) relays watching this one")
    } else {
      row("mesh", "not configured")
    }
    if certificateExpiry.isEmpty {
      row("certificates", "no expiry published")
    } else {
      row(
        "certificates",
        certificateExpiry.sorted { $0.key < $1.key }.map { listener, notAfter in
          "\(listener) expires \(UTCDate.format(Int64(notAfter))) (\(Self.days(notAfter - Double(nowSeconds))) days)"
        }.joined(separator: ", "))
    }
    if let open = openFileDescriptors, let max = maxFileDescriptors, max > 0 {
      row("open files", "\(Int(open)) of \(Int(max)) (\(Self.number(open / max * 100)) %)")
    }
    if let stunRequestsTotal { row("stun", "\(Int(stunRequestsTotal)) binding requests since start") }
    return lines.joined(separator: "\n") + "\n"
  }

  public func json() -> String {
    func num(_ value: Double?) -> String { value.map { Self.jsonNumber($0) } ?? "null" }
    func int(_ value: Int?) -> String { value.map(String.init) ?? "null" }
    func str(_ value: String?) -> String { value.map(JSONValue.quote) ?? "null" }
    func object(_ values: [String: Double]) -> String {
      "{" + values.sorted { $0.key < $1.key }.map { JSONValue.quote($0.key) + ":" + Self.jsonNumber($0.value) }.joined(separator: ",") + "}"
    }
    let fields: [(String, String)] = [
      ("url", str(url)), ("health", str(health)), ("health_http_status", "\(healthHTTPStatus)"), ("version", str(version)),
      ("uptime_seconds", num(uptimeSeconds)), ("workers", int(workers)), ("peers", int(peers)),
      ("connections", int(connections)), ("tls_mode", str(tlsMode)), ("ktls", str(ktls)),
      ("connections_by_transport", object(connectionsByTransport.mapValues(Double.init))),
      ("mesh_peers_configured", int(meshPeersConfigured)), ("mesh_peers_connected", int(meshPeersConnected)),
      ("watchers", int(watchers)), ("recv_bytes_total", num(recvBytesTotal)), ("send_bytes_total", num(sendBytesTotal)),
      ("recv_bytes_per_second", num(recvBytesPerSecond)), ("send_bytes_per_second", num(sendBytesPerSecond)),
      ("send_packets_per_second", num(sendPacketsPerSecond)), ("drops_by_reason", object(dropsByReason)),
      ("drops_per_second_by_reason", object(dropsPerSecondByReason)),
      ("certificate_expiry_timestamp_seconds", object(certificateExpiry)),
      ("open_fds", num(openFileDescriptors)), ("max_fds", num(maxFileDescriptors)),
      ("stun_requests_total", num(stunRequestsTotal)), ("interval_seconds", num(intervalSeconds)),
    ]
    return "{" + fields.map { JSONValue.quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}\n"
  }

  static func jsonNumber(_ value: Double) -> String {
    guard value.isFinite else { return "null" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
  }

  static func number(_ value: Double?) -> String {
    guard let value else { return "?" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    let scaled = (value * 10).rounded() / 10
    return String(scaled)
  }

  static func bytes(_ value: Double?) -> String {
    guard let value else { return "?" }
    let units = ["B", "KB", "MB", "GB", "TB"]
    var scaled = value
    var unit = 0
    while scaled >= 1000, unit < units.count - 1 {
      scaled /= 1000
      unit += 1
    }
    return "\(number(unit == 0 ? scaled : (scaled * 10).rounded() / 10)) \(units[unit])"
  }

  static func rate(_ value: Double?) -> String { value == nil ? "?" : bytes(value) + "/s" }

  static func days(_ seconds: Double) -> String { number((seconds / 86400 * 10).rounded() / 10) }

  static func duration(_ seconds: Double) -> String {
    let total = Int(seconds)
    let (d, h, m, s) = (total / 86400, total / 3600 % 24, total / 60 % 60, total % 60)
    if d > 0 { return "\(d)d \(h)h \(m)m" }
    if h > 0 { return "\(h)h \(m)m \(s)s" }
    return m > 0 ? "\(m)m \(s)s" : "\(s)s"
  }
}

extension String {
  func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
