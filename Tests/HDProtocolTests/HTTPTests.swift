import XCTest
@testable import HDProtocol

final class HTTPTests: XCTestCase {
  let serverKey = DERPKey(hex: String(repeating: "5a", count: 32))!

  func request(_ text: String) -> HTTPRequest? {
    var parser = HTTPRequestParser()
    if case .request(let r) = parser.parse(Array(text.utf8)) { return r }
    return nil
  }

  func testParsesGoClientUpgradeRequest() throws {
    let text = "GET /derp HTTP/1.1\r\nHost: 127.0.0.1:3340\r\nUser-Agent: Go-http-client/1.1\r\nConnection: Upgrade\r\nUpgrade: DERP\r\n\r\n"
    let r = try XCTUnwrap(request(text))
    XCTAssertEqual(r.method, "GET")
    XCTAssertEqual(r.path, "/derp")
    XCTAssertEqual(r.header("upgrade"), "DERP")
    XCTAssertEqual(r.header("HOST"), "127.0.0.1:3340")
    XCTAssertEqual(r.headBytes, text.utf8.count)
  }

  func testPartialInputAndFastStartLeftovers() {
    let head = Array("GET /derp HTTP/1.1\r\nUpgrade: derp\r\nDerp-Fast-Start: 1\r\n\r\n".utf8)
    let clientInfo: [UInt8] = [0x02, 0, 0, 0, 0x48] + [UInt8](repeating: 9, count: 10)
    let all = head + clientInfo
    var parser = HTTPRequestParser()
    // Feed byte by byte: must say needMore until the blank line is complete.
    for n in 1..<head.count {
      XCTAssertEqual(parser.parse(Array(all[0..<n])), .needMore, "at \(n)")
    }
    guard case .request(let r) = parser.parse(all) else { return XCTFail("no request") }
    XCTAssertEqual(r.headBytes, head.count)
    XCTAssertEqual(Array(all[r.headBytes...]), clientInfo, "bytes after the head belong to DERP")
    let route = HTTPRouter.route(r, serverKey: serverKey)
    XCTAssertTrue(route.upgrade)
    XCTAssertTrue(route.fastStart)
    XCTAssertEqual(route.response, [])
  }

  func testBareLFHeadAndQuery() throws {
    let r = try XCTUnwrap(request("GET /generate_204?x=1 HTTP/1.0\nX-Tailscale-Challenge: abc\n\n"))
    XCTAssertEqual(r.path, "/generate_204")
    XCTAssertEqual(r.target, "/generate_204?x=1")
    XCTAssertEqual(r.header("x-tailscale-challenge"), "abc")
  }

  func testBadInput() {
    var p = HTTPRequestParser()
    XCTAssertEqual(p.parse(Array("GARBAGE\r\n\r\n".utf8)), .failed(.malformedRequestLine))
    p = HTTPRequestParser()
    XCTAssertEqual(p.parse(Array("GET / HTTP/2.0\r\n\r\n".utf8)), .failed(.unsupportedVersion))
    p = HTTPRequestParser()
    XCTAssertEqual(p.parse(Array("GET / HTTP/1.1\r\nNoColon\r\n\r\n".utf8)), .failed(.malformedHeader))
    p = HTTPRequestParser()
    XCTAssertEqual(p.parse(Array("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n".utf8)), .failed(.malformedHeader))
    p = HTTPRequestParser(maxHeadBytes: 64)
    let big = Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 100)).utf8)
    XCTAssertEqual(p.parse(big), .failed(.headTooLarge(limitBytes: 64)))
    p = HTTPRequestParser(maxHeadBytes: 64)
    let complete = Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 60) + "\r\n\r\n").utf8)
    XCTAssertEqual(p.parse(complete), .failed(.headTooLarge(limitBytes: 64)))
    XCTAssertEqual(HTTPRouter.rejection(.headTooLarge(limitBytes: 64)), HTTPResponses.headTooLarge)
  }

  func testExact101() throws {
    let r = try XCTUnwrap(request("GET /derp HTTP/1.1\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n"))
    let route = HTTPRouter.route(r, serverKey: serverKey)
    XCTAssertTrue(route.upgrade)
    XCTAssertFalse(route.fastStart)
    XCTAssertEqual(String(decoding: route.response, as: UTF8.self),
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\nConnection: Upgrade\r\nDerp-Version: 2\r\n"
                     + "Derp-Public-Key: \(serverKey.hex)\r\n\r\n")
  }

  func testUpgradeRules() throws {
    let plain = try XCTUnwrap(request("GET /derp HTTP/1.1\r\n\r\n"))
    let r426 = HTTPRouter.route(plain, serverKey: serverKey)
    XCTAssertFalse(r426.upgrade)
    XCTAssertTrue(String(decoding: r426.response, as: UTF8.self).hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"))
    XCTAssertTrue(String(decoding: r426.response, as: UTF8.self).hasSuffix("\r\n\r\nDERP requires connection upgrade\n"))

    let ws = try XCTUnwrap(request("GET /derp HTTP/1.1\r\nUpgrade: WebSocket\r\n\r\n"))
    XCTAssertTrue(HTTPRouter.route(ws, serverKey: serverKey).upgrade, "websocket without derp subprotocol = raw DERP")
    let realWS = try XCTUnwrap(request("GET /derp HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: derp\r\n\r\n"))
    XCTAssertFalse(HTTPRouter.route(realWS, serverKey: serverKey).upgrade)

    let slash = try XCTUnwrap(request("GET /derp/ HTTP/1.1\r\nUpgrade: DERP\r\n\r\n"))
    XCTAssertEqual(HTTPRouter.route(slash, serverKey: serverKey).response, HTTPResponses.notFound)
    let notOne = try XCTUnwrap(request("GET /derp HTTP/1.1\r\nUpgrade: DERP\r\nDerp-Fast-Start: true\r\n\r\n"))
    XCTAssertFalse(HTTPRouter.route(notOne, serverKey: serverKey).fastStart)
  }

  func testProbeAndLatencyCheck() throws {
    for path in ["/derp/probe", "/derp/latency-check"] {
      for method in ["GET", "HEAD"] {
        let route = HTTPRouter.route(try XCTUnwrap(request("\(method) \(path) HTTP/1.1\r\n\r\n")), serverKey: serverKey)
        let text = String(decoding: route.response, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        XCTAssertTrue(text.contains("\r\nAccess-Control-Allow-Origin: *\r\n"))
        XCTAssertFalse(route.upgrade)
      }
      let post = HTTPRouter.route(try XCTUnwrap(request("POST \(path) HTTP/1.1\r\n\r\n")), serverKey: serverKey)
      XCTAssertTrue(String(decoding: post.response, as: UTF8.self).hasPrefix("HTTP/1.1 405 "))
    }
  }

  func testGenerate204Challenge() throws {
    let ok = HTTPRouter.route(try XCTUnwrap(request("GET /generate_204 HTTP/1.1\r\nX-Tailscale-Challenge: ts_Abc-1.2:3\r\n\r\n")),
                              serverKey: serverKey)
    let text = String(decoding: ok.response, as: UTF8.self)
    XCTAssertTrue(text.hasPrefix("HTTP/1.1 204 No Content\r\n"))
    XCTAssertTrue(text.contains("Cache-Control: no-cache, no-store, must-revalidate, no-transform, max-age=0\r\n"))
    XCTAssertTrue(text.contains("X-Tailscale-Response: response ts_Abc-1.2:3\r\n"))

    let bad = HTTPRouter.route(try XCTUnwrap(request("GET /generate_204 HTTP/1.1\r\nX-Tailscale-Challenge: a b\r\n\r\n")),
                               serverKey: serverKey)
    XCTAssertFalse(String(decoding: bad.response, as: UTF8.self).contains("X-Tailscale-Response"))
    XCTAssertFalse(HTTPResponses.isValidChallenge(String(repeating: "a", count: 65)))
    XCTAssertTrue(HTTPResponses.isValidChallenge(String(repeating: "a", count: 64)))
  }

  func testHeadRequestGetsNoBody() throws {
    let route = HTTPRouter.route(try XCTUnwrap(request("HEAD /nothing HTTP/1.1\r\n\r\n")), serverKey: serverKey)
    let text = String(decoding: route.response, as: UTF8.self)
    XCTAssertTrue(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
    XCTAssertTrue(text.hasSuffix("\r\n\r\n"))
  }
}
