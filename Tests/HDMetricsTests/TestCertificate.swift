// A throw-away self-signed certificate for localhost, made with the openssl CLI.
import Foundation
import XCTest

enum TestCertificate {
  static func makeDirectory() throws -> (cert: String, key: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hd-metrics-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let cert = directory.appendingPathComponent("metrics.crt").path
    let key = directory.appendingPathComponent("metrics.key").path
    let result = try runProcess(
      "/usr/bin/env",
      [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      ])
    XCTAssertEqual(result.status, 0, result.stderr)
    return (cert, key)
  }
}
