// A throw-away self-signed certificate (ECDSA P-256, made with the openssl
// tool once per process) for the relay's TLS listener in these tests.
import Foundation

enum TLSCertificate {
  static let directory: String = {
    let dir = NSTemporaryDirectory() + "hd-alloc-tests-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
      "-subj", "/CN=localhost", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem",
    ]
    process.standardError = FileHandle.nullDevice
    try? process.run()
    process.waitUntilExit()
    // Blocking TLS clients write through OpenSSL's socket BIO, which cannot pass
    // MSG_NOSIGNAL: a relay that closed first must not kill the test process.
    _ = signal(SIGPIPE, SIG_IGN)
    return dir
  }()

  static var certificatePath: String { directory + "/cert.pem" }
  static var keyPath: String { directory + "/key.pem" }
}
