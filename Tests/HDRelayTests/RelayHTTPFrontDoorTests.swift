// The HTTP side of the DERP port, checked byte for byte over loopback.
import HDProtocol
import XCTest
@testable import HDRelay

final class RelayHTTPFrontDoorTests: XCTestCase {
  var harness: RelayHarness!

  override func setUpWithError() throws { harness = try RelayHarness(workers: 1) }
  override func tearDown() { harness = nil }

  func testUpgradeAnswersTheExact101ThenServerKeyFrame() throws {
    let connection = try harness.rawConnection()
    connection.sendUpgrade()
    let expected = HTTPText.switchingProtocols(serverKey: harness.serverKeys.publicKey)
    let got = connection.read(count: expected.count + 45)
    XCTAssertEqual(Array(got.prefix(expected.count)), expected, String(decoding: got, as: UTF8.self))
    let frame = Array(got.dropFirst(expected.count))
    XCTAssertEqual(Array(frame.prefix(5)), [0x01, 0, 0, 0, 0x28], "ServerKey header")
    XCTAssertEqual(Array(frame.dropFirst(5).prefix(8)), [0x44, 0x45, 0x52, 0x50, 0xf0, 0x9f, 0x94, 0x91])
    XCTAssertEqual(DERPKey(frame.dropFirst(13)), harness.serverKeys.publicKey)
  }

  func testFastStartSkipsThe101AndServerKeyIsTheFirstByte() throws {
    let connection = try harness.rawConnection()
    connection.sendUpgrade(extraHeaders: "Derp-Fast-Start: 1\r\n")
    let first = connection.read(count: 45)
    XCTAssertEqual(Array(first.prefix(5)), [0x01, 0, 0, 0, 0x28], String(decoding: first, as: UTF8.self))

    // A whole fast-start session: ClientInfo right behind the request headers.
    let client = try harness.connect { $0.fastStartServerKey = self.harness.serverKeys.publicKey }
    XCTAssertNotNil(client.serverInfo)
    try client.barrier()
  }

  func testProbeAndLatencyCheckAnswer200WithCORS() throws {
    for path in ["/derp/probe", "/derp/latency-check"] {
      for method in ["GET", "HEAD"] {
        let connection = try harness.rawConnection()
        connection.send("\(method) \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
        let reply = try XCTUnwrap(HTTPReply(connection.readToEnd(timeoutSeconds: 3)), "\(method) \(path)")
        XCTAssertEqual(reply.status, 200, "\(method) \(path)")
        XCTAssertEqual(reply.headers["access-control-allow-origin"], "*", "\(method) \(path)")
      }
    }
    let post = try harness.rawConnection()
    post.send("POST /derp/probe HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    XCTAssertEqual(HTTPReply(post.readToEnd(timeoutSeconds: 3))?.status, 405)
  }

  func testGenerate204EchoesAValidChallengeOnly() throws {
    let good = try harness.rawConnection()
    good.send("GET /generate_204 HTTP/1.1\r\nHost: x\r\nX-Tailscale-Challenge: ab.C-9:z\r\n\r\n")
    let reply = try XCTUnwrap(HTTPReply(good.readToEnd(timeoutSeconds: 3)))
    XCTAssertEqual(reply.status, 204)
    XCTAssertEqual(reply.headers["x-tailscale-response"], "response ab.C-9:z")

    let bad = try harness.rawConnection()
    bad.send("GET /generate_204 HTTP/1.1\r\nHost: x\r\nX-Tailscale-Challenge: no spaces!\r\n\r\n")
    let badReply = try XCTUnwrap(HTTPReply(bad.readToEnd(timeoutSeconds: 3)))
    XCTAssertEqual(badReply.status, 204)
    XCTAssertNil(badReply.headers["x-tailscale-response"])
  }

  func testDerpWithoutUpgradeIs426() throws {
    let connection = try harness.rawConnection()
    connection.send("GET /derp HTTP/1.1\r\nHost: x\r\n\r\n")
    let reply = try XCTUnwrap(HTTPReply(connection.readToEnd(timeoutSeconds: 3)))
    XCTAssertEqual(reply.status, 426)
    XCTAssertTrue(reply.body.contains("DERP requires connection upgrade"), reply.body)
  }

  func testOtherPathsAre404() throws {
    for path in ["/", "/derp/", "/nope", "/derpx"] {
      let connection = try harness.rawConnection()
      connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
      XCTAssertEqual(HTTPReply(connection.readToEnd(timeoutSeconds: 3))?.status, 404, path)
    }
  }
}
