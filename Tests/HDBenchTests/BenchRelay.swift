// An in-process relay on a free loopback port for the generator's tests,
// optionally with userspace TLS on a throw-away certificate.
import Foundation
import HDConfig
import HDProtocol
import HDRelay

final class BenchRelay {
  let relay: Relay
  let port: UInt16
  private let certificateDirectory: URL?

  init(workers: Int = 1, tls: Bool = false) throws {
    let serverKeys = DERPKeyPair.generate()
    var config = Config(port: 0, bind: ["127.0.0.1"])
    var relayTLS: RelayTLS?
    if tls {
      let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hd-bench-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      certificateDirectory = directory
      let cert = directory.appendingPathComponent("relay.crt").path
      let key = directory.appendingPathComponent("relay.key").path
      let openssl = Process()
      openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      openssl.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                           "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"]
      openssl.standardError = FileHandle.nullDevice
      try openssl.run()
      openssl.waitUntilExit()
      guard openssl.terminationStatus == 0 else { throw RelayError("openssl req failed") }
      config.tlsCert = cert
      config.tlsKey = key
      config.ktls = .off
      relayTLS = try RelayTLS(certificatePath: cert, keyPath: key, ktls: .off, serverKey: serverKeys.publicKey)
    } else {
      certificateDirectory = nil
    }
    let options = RelayOptions(config: config, serverKeyPair: serverKeys, workerCount: workers, tls: relayTLS)
    relay = try Relay(options: options)
    try relay.start()
    port = UInt16(relay.boundPorts[0])
  }

  deinit {
    relay.stop(graceSeconds: 1)
    if let certificateDirectory { try? FileManager.default.removeItem(at: certificateDirectory) }
  }
}
