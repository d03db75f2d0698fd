// A real ACME CA for the ACME tests: Let's Encrypt's Pebble (Debian package
// `pebble`) on loopback ports, with pebble-challtestsrv as its DNS server so
// test names (relay.test) resolve to 127.0.0.1. Validation is real: Pebble's
// VA connects to the relay's own ports (tlsPort = the DERP port, httpPort =
// acme.http_port). PEBBLE_VA_ALWAYS_VALID is never set.
import Foundation
import XCTest

@testable import HDConfig
@testable import HDRelay

final class PebbleHarness: @unchecked Sendable {
  let tree: TestFixtureTree
  /// Pebble's WFE certificate (self-signed, so also the CA file the relay trusts for the directory).
  let wfeCertificate: String
  let directoryPort: UInt16
  let managementPort: UInt16
  let dnsPort: UInt16
  private var pebble: Process?
  private var dns: Process?
  /// Everything Pebble wrote, across restarts.
  private(set) var pebbleLog: String = ""
  /// One pipe per Pebble process: Process closes its write end after launch.
  private var logPipe: Pipe?
  private let lock = NSLock()

  var directoryURL: String { "https://127.0.0.1:\(directoryPort)/dir" }

  struct Settings {
    /// Where Pebble's VA connects for TLS-ALPN-01 and HTTP-01 (the relay's ports).
    var tlsPort: UInt16
    var httpPort: UInt16
    var validitySeconds: Int = 3600
    /// EAB key id → base64url HMAC key; non-empty makes EAB required.
    var externalAccountKeys: [String: String] = [:]
  }

  init(tree: TestFixtureTree) throws {
    self.tree = tree
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/pebble"),
      FileManager.default.isExecutableFile(atPath: "/usr/bin/pebble-challtestsrv")
    else {
      throw DaemonProcessError("pebble is not installed: run scripts/install-deps.sh (Debian package `pebble`)")
    }
    wfeCertificate = try makeTestCertificate(tree, name: "pebble-wfe", subjectAltName: "DNS:localhost,IP:127.0.0.1").cert
    directoryPort = freeLoopbackPort()
    managementPort = freeLoopbackPort()
    dnsPort = freeLoopbackPort()
  }

  deinit { stop() }

  /// Starts challtestsrv (DNS only) and Pebble; returns once the directory answers.
  func start(_ settings: Settings) throws {
    let dns = Process()
    dns.executableURL = URL(fileURLWithPath: "/usr/bin/pebble-challtestsrv")
    // DNS only (A → 127.0.0.1, no AAAA); every challenge server of its own is off.
    dns.arguments = [
      "-dns01", "127.0.0.1:\(dnsPort)", "-http01", "", "-https01", "", "-tlsalpn01", "",
      "-management", "127.0.0.1:\(freeLoopbackPort())", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
    ]
    dns.standardOutput = FileHandle.nullDevice
    dns.standardError = FileHandle.nullDevice
    try dns.run()
    self.dns = dns
    try startPebble(settings)
  }

  func startPebble(_ settings: Settings) throws {
    let eab = settings.externalAccountKeys.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
    let config = """
      {"pebble": {"listenAddress": "127.0.0.1:\(directoryPort)", "managementListenAddress": "127.0.0.1:\(managementPort)",
       "certificate": "\(wfeCertificate)", "privateKey": "\(tree.path("pebble-wfe.key"))",
       "httpPort": \(settings.httpPort), "tlsPort": \(settings.tlsPort), "ocspResponderURL": "",
       "externalAccountBindingRequired": \(!settings.externalAccountKeys.isEmpty), "externalAccountMACKeys": {\(eab)},
       "certificateValidityPeriod": \(settings.validitySeconds)}}
      """
    let path = tree.write("pebble.json", config)
    let pebble = Process()
    pebble.executableURL = URL(fileURLWithPath: "/usr/bin/pebble")
    pebble.arguments = ["-config", path, "-dnsserver", "127.0.0.1:\(dnsPort)"]
    var environment = ProcessInfo.processInfo.environment
    environment["PEBBLE_VA_NOSLEEP"] = "1"
    environment.removeValue(forKey: "PEBBLE_VA_ALWAYS_VALID")
    pebble.environment = environment
    let logPipe = Pipe()
    self.logPipe = logPipe
    pebble.standardOutput = logPipe
    pebble.standardError = logPipe
    logPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
      let data = handle.availableData
      guard let self, !data.isEmpty else { return }
      self.lock.lock()
      self.pebbleLog += String(decoding: data, as: UTF8.self)
      self.lock.unlock()
    }
    try pebble.run()
    self.pebble = pebble
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
      if (try? get(directoryURL)) != nil { return }
      Thread.sleep(forTimeInterval: 0.1)
    }
    throw DaemonProcessError("pebble did not serve its directory within 20 s:\n\(log)")
  }

  var log: String {
    lock.lock()
    defer { lock.unlock() }
    return pebbleLog
  }

  /// Stops Pebble only (the DNS server stays for a later startPebble).
  func stopPebble() {
    if let pebble, pebble.isRunning {
      pebble.terminate()
      pebble.waitUntilExit()
    }
    pebble = nil
    logPipe?.fileHandleForReading.readabilityHandler = nil
    logPipe = nil
  }

  func stop() {
    stopPebble()
    if let dns, dns.isRunning {
      dns.terminate()
      dns.waitUntilExit()
    }
    dns = nil
  }

  /// Pebble's root CA (regenerated at every Pebble start), written to a file a client can trust.
  func rootCertificateFile() throws -> String {
    let pem = try get("https://127.0.0.1:\(managementPort)/roots/0")
    return tree.write("pebble-root.pem", String(decoding: pem, as: UTF8.self))
  }

  /// GET over HTTPS trusting the WFE certificate (the relay's own HTTP client).
  func get(_ url: String) throws -> [UInt8] {
    guard case .success(let parsed) = HTTPURL.parse(url) else { throw DaemonProcessError("bad URL \(url)") }
    let client = HTTPClient(trust: .bundle(path: wfeCertificate, setting: "test"), bodyBytesMax: 1 << 20)
    let deadline = monotonicNanosecondsForTests() + 5_000_000_000
    switch client.send(HTTPClientRequest(method: "GET", url: parsed), deadlineNanoseconds: deadline, stop: { false }) {
    case .success(let response) where response.status == 200: return response.body
    case .success(let response): throw DaemonProcessError("GET \(url): HTTP \(response.status)")
    case .failure(let why): throw DaemonProcessError("GET \(url): \(why)")
    }
  }
}

func monotonicNanosecondsForTests() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// GET http://127.0.0.1:`port``path` (the metrics server): status and body.
func loopbackHTTPGet(port: UInt16, _ path: String) throws -> (status: Int, body: String) {
  guard case .success(let url) = HTTPURL.parse("http://127.0.0.1:\(port)\(path)") else {
    throw DaemonProcessError("bad path \(path)")
  }
  let client = HTTPClient(bodyBytesMax: 1 << 20)
  let deadline = monotonicNanosecondsForTests() + 5_000_000_000
  switch client.send(HTTPClientRequest(method: "GET", url: url), deadlineNanoseconds: deadline, stop: { false }) {
  case .success(let response): return (response.status, String(decoding: response.body, as: UTF8.self))
  case .failure(let why): throw DaemonProcessError("GET \(path): \(why)")
  }
}
