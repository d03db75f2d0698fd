// The tiny HTTP client against real loopback sockets, and RELAY_HEALTH end to end.
import XCTest
import Glibc
@testable import HDOps

/// A one-shot loopback HTTP server on 127.0.0.1: answers the first request
/// with `response` (or stays silent when nil), then closes.
final class OneShotServer: @unchecked Sendable {
  let port: Int
  private let fd: Int32
  private let thread: Thread

  init(response: String?) throws {
    (fd, port) = try listenOnLoopback()
    let listener = fd
    thread = Thread {
      let client = accept(listener, nil, nil)
      guard client >= 0 else { return }
      var buffer = [UInt8](repeating: 0, count: 4096)
      _ = recv(client, &buffer, buffer.count, 0)
      if let response {
        let bytes = Array(response.utf8)
        _ = send(client, bytes, bytes.count, Int32(MSG_NOSIGNAL))
        close(client)
      } else {
        usleep(800_000)  // silent: the client must give up on its own
        close(client)
      }
    }
    thread.start()
  }

  deinit { close(fd) }
}

/// A TCP socket listening on 127.0.0.1, an ephemeral port: (descriptor, port).
func listenOnLoopback() throws -> (fd: Int32, port: Int) {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  let ok = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
    }
  }
  guard ok else {
    let code = errno
    close(fd)
    throw NSError(domain: "listenOnLoopback", code: Int(code))
  }
  return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

final class HealthProbeTests: XCTestCase {
  func testAnswerIsParsed() throws {
    let server = try OneShotServer(response: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"status\":\"ok\"}")
    let result = LiveHostProbes().httpGet(host: "127.0.0.1", port: server.port, path: "/health", timeoutMilliseconds: 2000)
    XCTAssertEqual(result, .answered(status: 200, body: "{\"status\":\"ok\"}"))
  }

  func testRefusedSilentAndBadHosts() throws {
    let closedPort = LiveHostProbes().httpGet(host: "127.0.0.1", port: 1, path: "/health", timeoutMilliseconds: 500)
    XCTAssertEqual(closedPort, .unreachable(reason: "ECONNREFUSED"))
    XCTAssertEqual(
      LiveHostProbes().httpGet(host: "::1", port: 1, path: "/health", timeoutMilliseconds: 500),
      .unreachable(reason: "ECONNREFUSED"), "IPv6 literals connect too")
    let silent = try OneShotServer(response: nil)
    let result = LiveHostProbes().httpGet(host: "127.0.0.1", port: silent.port, path: "/health", timeoutMilliseconds: 200)
    XCTAssertEqual(result, .unreachable(reason: "timeout waiting for an answer"))
    XCTAssertEqual(LiveHostProbes().httpGet(host: "localhost", port: 80, path: "/", timeoutMilliseconds: 100),
      .unreachable(reason: "not an IP address: localhost"))
  }

  func testRelayHealthCheckAgainstARealServer() throws {
    let directory = try copyFixture("live-2vcpu")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    for (response, status, fragment) in [
      ("HTTP/1.1 200 OK\r\n\r\n{\"status\":\"ok\",\"workers\":2}", CheckStatus.ok, ": 200 {\"status\":\"ok\",\"workers\":2}"),
      ("HTTP/1.1 503 Service Unavailable\r\n\r\n{\"status\":\"fail\"}", CheckStatus.error, ": 503 {\"status\":\"fail\"}"),
    ] {
      let server = try OneShotServer(response: response)
      try FileManager.default.createDirectory(atPath: directory + "/etc/hyper-derp", withIntermediateDirectories: true)
      try "metrics:\n  port: \(server.port)\n  bind: [127.0.0.1]\n".write(
        toFile: directory + "/etc/hyper-derp/hyper-derp.yaml", atomically: true, encoding: .utf8)
      // Files from the fixture, the HTTP request for real.
      let root = FileSystemRoot(directory: directory)
      let environment = OpsEnvironment(root: root, probes: LiveHostProbes())
      let context = DoctorContext(environment: environment, loaded: LoadedConfig.load(path: nil, root: root))
      let report = Doctor.run(context, options: DoctorOptions(only: [.relayHealth]))
      let outcome = try XCTUnwrap(report.results.first?.outcome)
      XCTAssertEqual(outcome.status, status, outcome.fact)
      XCTAssertTrue(outcome.fact.hasPrefix("GET http://127.0.0.1:\(server.port)/health"), outcome.fact)
      XCTAssertTrue(outcome.fact.hasSuffix(fragment), outcome.fact)
    }
  }

  func testBindProbeSeesAPortInUse() throws {
    let server = try OneShotServer(response: nil)
    XCTAssertEqual(LiveHostProbes().bindLoopback(port: server.port), .failed(errno: EADDRINUSE))
    XCTAssertEqual(LiveHostProbes().bindLoopback(port: 0), .ok)
    if geteuid() == 0 { XCTAssertNotEqual(LiveHostProbes().bindLoopback(port: 443), .failed(errno: EACCES)) }
  }

  func testParseRejectsNonHTTP() {
    XCTAssertEqual(HTTPGet.parse(Array("SSH-2.0-OpenSSH\r\n".utf8)), .unreachable(reason: "not an HTTP response"))
    XCTAssertEqual(HTTPGet.parse(Array("HTTP/1.0 204 No Content\n\n".utf8)), .answered(status: 204, body: ""))
  }
}
