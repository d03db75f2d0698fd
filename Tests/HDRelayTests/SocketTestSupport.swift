// Helpers several relay tests share: free loopback ports, the local port of
// a client, throw-away certificates, and waiting for a condition.
import Foundation
import HDClient
import XCTest

/// A TCP socket bound to a free 127.0.0.1 port (not listening yet); the caller closes it.
func boundLoopbackSocket() -> (fd: Int32, port: UInt16) {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  _ = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ptr -> Int32 in
      _ = bind(fd, ptr, length)
      return getsockname(fd, ptr, &length)
    }
  }
  return (fd, UInt16(bigEndian: address.sin_port))
}

/// A loopback TCP port that was free a moment ago (bound, then closed).
func freeLoopbackPort() -> UInt16 {
  let (fd, port) = boundLoopbackSocket()
  close(fd)
  return port
}

/// The client's own port (what the relay sees as its source port).
func localPort(of client: DERPClient) throws -> UInt16 {
  let fd = try XCTUnwrap((client.transport as? PlainTransport)?.fileDescriptor)
  var address = sockaddr_in()
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  _ = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
  }
  return UInt16(bigEndian: address.sin_port)
}

/// A self-signed P-256 certificate and key made with the openssl CLI, with
/// an optional subjectAltName (e.g. "IP:127.0.0.1", "DNS:elsewhere.example").
func makeTestCertificate(_ tree: TestFixtureTree, name: String, subjectAltName: String? = nil) throws
  -> (cert: String, key: String)
{
  let (cert, key) = (tree.path("\(name).crt"), tree.path("\(name).key"))
  let openssl = Process()
  openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
  openssl.arguments =
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
     "-out", cert, "-days", "2", "-subj", "/CN=\(name)"] + (subjectAltName.map { ["-addext", "subjectAltName=\($0)"] } ?? [])
  openssl.standardError = FileHandle.nullDevice
  openssl.standardOutput = FileHandle.nullDevice
  try openssl.run()
  openssl.waitUntilExit()
  try XCTSkipUnless(openssl.terminationStatus == 0, "openssl CLI could not make a certificate")
  return (cert, key)
}

/// Polls `condition` every 10 ms; fails the test and throws after the timeout.
func waitUntil(_ what: String, timeoutSeconds: Double = 10, _ condition: () -> Bool) throws {
  let deadline = Date().addingTimeInterval(timeoutSeconds)
  while !condition() {
    guard Date() < deadline else {
      XCTFail("timed out waiting: \(what)")
      throw DERPClientError.timedOut
    }
    Thread.sleep(forTimeInterval: 0.01)
  }
}
