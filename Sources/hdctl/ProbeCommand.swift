// hdctl probe (--derp-map FILE|URL | --relay URL | --node ... --region-id N --region-code C)
//             [--ca-file PATH] [--mesh-key-file PATH] [--packets N] [--timeout S]
//             [--bandwidth-bytes B] [--json] [--listen ADDR [--interval S]]
// The probes live in HDProbe (ProbeRunner); this picks the targets and the output.

import Glibc
import HDCLI
import HDConfig
import HDProbe
import HDProtocol

func runProbe(_ arguments: ParsedArguments) -> Int32 {
  let nodes: [ProbeNode]
  switch probeTargets(arguments) {
  case .failure(let failure):
    writeError("hdctl probe: \(failure.message)")
    return failure.usage ? ParsedArguments.usageExitCode : 1
  case .success(let targets): nodes = targets
  }
  var options = ProbeOptions()
  options.trustedCertificatesFile = arguments.value("--ca-file")
  let bounds: [(String, ClosedRange<Int>)] = [
    ("--packets", 1...100_000), ("--timeout", 1...600), ("--bandwidth-bytes", 0...(1 << 40)), ("--interval", 1...86_400),
  ]
  for (flag, range) in bounds {
    if let value = arguments.value(flag).flatMap({ Int($0) }), !range.contains(value) {
      writeError("hdctl probe: \(flag) must be \(range.lowerBound)-\(range.upperBound)")
      return ParsedArguments.usageExitCode
    }
  }
  options.packets = arguments.value("--packets").flatMap { Int($0) } ?? options.packets
  options.timeoutSeconds = Double(arguments.value("--timeout").flatMap { Int($0) } ?? 5)
  options.bandwidthBytes = arguments.value("--bandwidth-bytes").flatMap { Int($0) } ?? 0
  if let path = arguments.value("--mesh-key-file") {
    guard let text = FileAccess.readText(path), let key = DERPKey(hex: text.trimmingWhitespace()) else {
      writeError("hdctl probe: --mesh-key-file \(path): cannot read 64 hex characters (the file of mesh.key_file)")
      return 1
    }
    options.meshKey = key
  }
  if let address = arguments.value("--listen") {
    return listen(address, nodes, options, intervalSeconds: Double(arguments.value("--interval").flatMap { Int($0) } ?? 30))
  }
  if arguments.has("--interval") {
    writeError("hdctl probe: --interval goes with --listen")
    return ParsedArguments.usageExitCode
  }
  let report = ProbeRunner.run(nodes, options: options)
  print(arguments.has("--json") ? report.json() : report.table(), terminator: "")
  return report.allPassed ? 0 : 1
}

private func listen(_ address: String, _ nodes: [ProbeNode], _ options: ProbeOptions, intervalSeconds: Double) -> Int32 {
  let server: ProbeHTTPServer
  do { server = try ProbeHTTPServer(listen: address) } catch {
    writeError("hdctl probe: \(error)")
    return 1
  }
  var history = ProbeHistory()
  server.publish(metrics: history.exposition(), page: history.statusPage())
  server.start()
  writeError("hdctl probe: serving http://\(address)/metrics and /, a pass every \(Int(intervalSeconds)) s")
  while true {
    let started = MonotonicClock.seconds()
    let report = ProbeRunner.run(nodes, options: options)
    history.record(report)
    server.publish(metrics: history.exposition(), page: history.statusPage())
    for check in report.failed { writeError("hdctl probe: FAILED \(check.kind.rawValue) \(check.target): \(check.detail)") }
    MonotonicClock.sleep(seconds: intervalSeconds - (MonotonicClock.seconds() - started))
  }
}

private struct ProbeTargetError: Error {
  let message: String
  let usage: Bool
}

/// Exactly one kind of target: a DERP map, one relay, or derpmap's flags.
private func probeTargets(_ arguments: ParsedArguments) -> Result<[ProbeNode], ProbeTargetError> {
  let kinds = [arguments.has("--derp-map"), arguments.has("--relay"), arguments.has("--node")].filter { $0 }.count
  guard kinds == 1 else {
    return .failure(ProbeTargetError(message: "give one of --derp-map, --relay or --node (with --region-id and --region-code)", usage: true))
  }
  if arguments.has("--stun-port") && !arguments.has("--relay") {
    return .failure(ProbeTargetError(message: "--stun-port goes with --relay (a DERP map names each node's STUN port)", usage: true))
  }
  let mapFlags = ["--region-id", "--region-code", "--region-name", "--insecure-for-tests"]
  if !arguments.has("--node"), let flag = mapFlags.first(where: arguments.has) {
    return .failure(ProbeTargetError(message: "\(flag) goes with --node", usage: true))
  }
  if let source = arguments.value("--derp-map") {
    let bytes: [UInt8]
    if source.hasPrefix("http://") || source.hasPrefix("https://") {
      guard case .success(let url) = HTTPURL.parse(source) else {
        return .failure(ProbeTargetError(message: "--derp-map \(source) is not a URL", usage: true))
      }
      switch HTTPFetch.get(url, trustedCertificatesFile: arguments.value("--ca-file")) {
      case .failure(let error): return .failure(ProbeTargetError(message: "cannot fetch the DERP map: \(error)", usage: false))
      case .success(let response):
        guard response.status == 200 else {
          return .failure(ProbeTargetError(message: "cannot fetch the DERP map: \(source) answered \(response.status)", usage: false))
        }
        bytes = response.body
      }
    } else {
      switch FileAccess.readBytes(source) {
      case .failure(.notFound): return .failure(ProbeTargetError(message: "--derp-map \(source): no such file", usage: false))
      case .failure(.unreadable(let why)): return .failure(ProbeTargetError(message: "--derp-map \(source): \(why)", usage: false))
      case .success(let read): bytes = read
      }
    }
    do {
      // JSON starts with "{"; anything else is read as Headscale's YAML.
      let isJSON = bytes.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 } == UInt8(ascii: "{")
      let map = isJSON ? try DERPMap.decode(json: bytes) : try DERPMap.decode(headscaleYAML: bytes, file: source)
      let nodes = map.probeNodes
      guard !nodes.isEmpty else { return .failure(ProbeTargetError(message: "the DERP map \(source) has no DERP nodes", usage: false)) }
      return .success(nodes)
    } catch {
      return .failure(ProbeTargetError(message: "the DERP map \(source): \(error)", usage: false))
    }
  }
  if let text = arguments.value("--relay") {
    guard case .success(let url) = HTTPURL.parse(text) else {
      return .failure(ProbeTargetError(message: "--relay \(text): expected https://HOST[:PORT] or http://HOST:PORT", usage: true))
    }
    var node = DERPNode(name: url.host, regionID: 0, hostName: url.host)
    node.derpPort = url.port
    node.stunPort = arguments.value("--stun-port").flatMap { Int($0) } ?? -1
    return .success([ProbeNode(regionID: 0, regionCode: "relay", node: node, plainTCP: !url.isHTTPS)])
  }
  guard let regionID = arguments.value("--region-id").flatMap({ Int($0) }), let code = arguments.value("--region-code") else {
    return .failure(ProbeTargetError(message: "--node needs --region-id and --region-code", usage: true))
  }
  var specs: [DERPNodeSpec] = []
  for text in arguments.values("--node") {
    switch DERPNodeSpec.parse(text) {
    case .success(let spec): specs.append(spec)
    case .failure(let error): return .failure(ProbeTargetError(message: "\(error)", usage: true))
    }
  }
  var request = DERPMapRequest(regionID: regionID, regionCode: code, regionName: arguments.value("--region-name") ?? "", nodes: specs)
  request.insecureForTests = arguments.has("--insecure-for-tests")
  switch DERPMapBuilder.build(request) {
  case .refused(let problems): return .failure(ProbeTargetError(message: problems.map(\.description).joined(separator: "\n"), usage: false))
  case .built(let map, _): return .success(map.probeNodes)
  }
}

extension String {
  fileprivate func trimmingWhitespace() -> String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s = s.dropFirst() }
    while let c = s.last, c.isWhitespace { s = s.dropLast() }
    return String(s)
  }
}
