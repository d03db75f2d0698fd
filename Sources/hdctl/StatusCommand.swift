// hdctl status [URL] [--config PATH] [--ca-file PATH] [--interval SECONDS] [--json] [--watch]
// Reading and rendering live in HDProbe (RelayStatusReader, RelayStatus).

import HDCLI
import HDConfig
import HDProbe

func runStatus(_ arguments: ParsedArguments) -> Int32 {
  let url: HTTPURL
  switch statusURL(arguments) {
  case .failure(let message):
    writeError("hdctl status: \(message)")
    return ParsedArguments.usageExitCode
  case .success(let parsed): url = parsed
  }
  let intervalSeconds = arguments.value("--interval").flatMap { Int($0) } ?? 1
  guard (1...3600).contains(intervalSeconds) else {
    writeError("hdctl status: --interval must be 1-3600 seconds")
    return ParsedArguments.usageExitCode
  }
  let interval = Double(intervalSeconds)
  let request = RelayStatusRequest(
    metricsURL: url, trustedCertificatesFile: arguments.value("--ca-file"), intervalSeconds: interval)
  while true {
    switch RelayStatusReader.read(request, sleep: { MonotonicClock.sleep(seconds: $0) }) {
    case .failure(let error):
      writeError("hdctl status: \(error)")
      if !arguments.has("--watch") { return 1 }
      MonotonicClock.sleep(seconds: interval)
    case .success(let status):
      if arguments.has("--watch") && !arguments.has("--json") { print("\u{1B}[H\u{1B}[2J", terminator: "") }
      print(arguments.has("--json") ? status.json() : status.text(), terminator: "")
      if !arguments.has("--watch") { return 0 }
    }
  }
}

/// The URL given, or the metrics server of the config (127.0.0.1, its port, https when it has a certificate).
private func statusURL(_ arguments: ParsedArguments) -> Result<HTTPURL, StatusUsageError> {
  if let text = arguments.positionals.first {
    switch HTTPURL.parse(text.contains("://") ? text : "http://" + text) {
    case .success(let url): return .success(url)
    case .failure(let error): return .failure(StatusUsageError(error.description))
    }
  }
  let path = arguments.value("--config") ?? HdctlCommands.defaultConfigPath
  let options = ConfigCheckOptions(checkReferencedFiles: false, checkHost: false, checkImplemented: false)
  let result = ConfigLoader.check(path: path, options: options)
  if let error = result.diagnostics.first(where: \.isError) {
    return .failure(StatusUsageError("give the metrics server's URL, or a readable config: \(error.message)"))
  }
  guard result.config.metrics.port != 0 else {
    return .failure(StatusUsageError("\(path) runs no metrics server (metrics.port is 0); give the URL of one"))
  }
  let metrics = result.config.metrics
  let host = metrics.bind.first.map { $0 == "0.0.0.0" ? "127.0.0.1" : ($0 == "::" ? "::1" : $0) } ?? "127.0.0.1"
  return .success(HTTPURL(isHTTPS: metrics.tlsCert != nil, host: host, port: metrics.port, pathAndQuery: "/"))
}

private struct StatusUsageError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
