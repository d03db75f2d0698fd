// verify_clients.url over https: the relay asks a real TLS controller (Python's
// http.server behind ssl, on loopback) and admits or closes on its answer; a
// controller whose certificate does not chain to the trust store, or does not
// name the host, is never sent a node key (an error, decided by fail_open).
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest
@testable import HDRelay

final class VerifyClientsHTTPSTests: XCTestCase {
  /// An HTTPS controller: allows every node key except `denied`; prints its port.
  private final class Controller {
    let process = Process()
    let port: Int

    init(cert: String, key: String, denied: String) throws {
      let script = """
        import http.server, ssl, sys, json
        denied = sys.argv[3]
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
                answer = json.dumps({"Allow": body["NodePublic"] != denied}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """
      let output = Pipe()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = ["python3", "-c", script, cert, key, denied]
      process.standardOutput = output
      process.standardError = FileHandle.nullDevice
      try process.run()
      var line = Data()
      while !line.contains(0x0a) {
        let more = output.fileHandleForReading.availableData
        if more.isEmpty { break }
        line.append(more)
      }
      guard let text = String(data: line, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
      else {
        process.terminate()
        throw XCTSkip("python3 could not start an HTTPS controller")
      }
      self.port = port
    }

    deinit {
      process.terminate()
      process.waitUntilExit()
    }
  }

  private func relay(url: String, trust: String) throws -> RelayHarness {
    try RelayHarness(workers: 2, { $0.verifyClients = VerifyClientsConfig(url: url, failOpen: false); $0.tlsCAFile = trust },
                     adjust: { $0.verifyTimeoutSeconds = 3 })
  }

  private func handshake(_ harness: RelayHarness, keys: DERPKeyPair) -> DERPClient? {
    var options = DERPClientOptions()
    options.readTimeoutSeconds = 5
    return try? DERPClient.connect(host: "127.0.0.1", port: harness.port, keys: keys, options: options)
  }

  func testHTTPSControllerDecidesAndUnverifiedControllersAreNeverAsked() throws {
    let tree = TestFixtureTree()
    let (cert, key) = try makeTestCertificate(tree, name: "controller", subjectAltName: "IP:127.0.0.1")
    let (otherCA, _) = try makeTestCertificate(tree, name: "other", subjectAltName: "IP:127.0.0.1")
    let (wrongName, wrongNameKey) = try makeTestCertificate(tree, name: "elsewhere", subjectAltName: "DNS:elsewhere.example")
    let denied = DERPKeyPair.generate()
    let controller = try Controller(cert: cert, key: key, denied: denied.publicKey.nodeKeyText)

    let harness = try relay(url: "https://127.0.0.1:\(controller.port)/verify", trust: cert)
    let allowed = try XCTUnwrap(handshake(harness, keys: .generate()), "an allowed client is admitted over https")
    try allowed.barrier()
    XCTAssertNil(handshake(harness, keys: denied), "a denied client is closed")
    var stats = harness.relay.statsSnapshot().verifyClients
    XCTAssertEqual(stats.allowed, 1)
    XCTAssertEqual(stats.denied, 1)
    XCTAssertEqual(stats.errors.reduce(0, +), 0)

    // A certificate from another CA: the controller is never trusted.
    let distrusting = try relay(url: "https://127.0.0.1:\(controller.port)/verify", trust: otherCA)
    XCTAssertNil(handshake(distrusting, keys: .generate()))
    stats = distrusting.relay.statsSnapshot().verifyClients
    XCTAssertEqual(stats.allowed, 0)
    XCTAssertEqual(stats.errors(.unreachable), 1)

    // The right CA but a certificate for another name.
    let misnamed = try Controller(cert: wrongName, key: wrongNameKey, denied: "")
    let checking = try relay(url: "https://127.0.0.1:\(misnamed.port)/verify", trust: wrongName)
    XCTAssertNil(handshake(checking, keys: .generate()))
    XCTAssertEqual(checking.relay.statsSnapshot().verifyClients.errors(.unreachable), 1)
  }
}
