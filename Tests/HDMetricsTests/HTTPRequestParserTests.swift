import XCTest

@testable import HDMetrics

final class HTTPRequestParserTests: XCTestCase {
  private let parser = HTTPRequestParser()

  private func parse(_ text: String) throws(HTTPRequestError) -> HTTPRequestParser.Outcome {
    try parser.parse(Array(text.utf8)[...])
  }

  private func head(_ text: String) throws -> HTTPRequestHead {
    guard case .complete(let head, let consumed) = try parse(text) else {
      XCTFail("incomplete")
      throw HTTPRequestError.malformed("incomplete")
    }
    XCTAssertEqual(consumed, text.utf8.count)
    return head
  }

  private func assertRejected(_ text: String, _ expected: HTTPStatus, line: UInt = #line) {
    do {
      _ = try parse(text)
      XCTFail("accepted \(text.debugDescription)", line: line)
    } catch {
      XCTAssertEqual(error.status, expected, "\(text.debugDescription): \(error)", line: line)
    }
  }

  func testSimpleGetKeepsAliveAndDropsQuery() throws {
    let parsed = try head("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n")
    XCTAssertEqual(
      parsed, HTTPRequestHead(method: "GET", path: "/metrics", minorVersion: 1, keepAlive: true, hasBody: false))
  }

  func testAbsoluteFormTargetsUseTheirPath() throws {
    XCTAssertEqual(try head("GET http://relay:9100/metrics?a=1 HTTP/1.1\r\nHost: relay\r\n\r\n").path, "/metrics")
    XCTAssertEqual(try head("GET https://relay HTTP/1.1\r\nHost: relay\r\n\r\n").path, "/")
  }

  func testConnectionHeaderAndVersionDecideKeepAlive() throws {
    XCTAssertFalse(try head("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keepAlive)
    XCTAssertFalse(try head("GET / HTTP/1.0\r\n\r\n").keepAlive)
    XCTAssertTrue(try head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
    XCTAssertFalse(try head("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n").keepAlive)
  }

  func testBareLFAndLeadingEmptyLinesAreAccepted() throws {
    XCTAssertEqual(try head("\r\nGET /health HTTP/1.1\nHost: a\n\n").path, "/health")
  }

  func testIncompleteHeadWaitsForMore() throws {
    XCTAssertEqual(try parse("GET /metrics HTTP/1.1\r\nHost: a\r\n"), .incomplete)
    XCTAssertEqual(try parse(""), .incomplete)
  }

  func testPipelinedRequestsAreConsumedOneAtATime() throws {
    let first = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
    guard case .complete(let parsed, let consumed) = try parse(first + "GET /b HTTP/1.1\r\nHost: a\r\n\r\n") else {
      return XCTFail("incomplete")
    }
    XCTAssertEqual(parsed.path, "/a")
    XCTAssertEqual(consumed, first.utf8.count)
  }

  func testBodiesAreFlagged() throws {
    XCTAssertTrue(try head("POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n").hasBody)
    XCTAssertTrue(try head("POST /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").hasBody)
    XCTAssertFalse(try head("GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").hasBody)
  }

  func testMalformedRequestsAre400() {
    assertRejected("GET /metrics\r\n\r\n", .badRequest)
    assertRejected("GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n", .badRequest)
    assertRejected("GET metrics HTTP/1.1\r\nHost: a\r\n\r\n", .badRequest)
    assertRejected("GET ftp://x/metrics HTTP/1.1\r\nHost: a\r\n\r\n", .badRequest)
    assertRejected("GET /met\u{7F}rics HTTP/1.1\r\nHost: a\r\n\r\n", .badRequest)
    assertRejected("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", .badRequest)
    assertRejected("GET / HTTP/1.1\r\n\r\n", .badRequest)  // No Host.
    assertRejected("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .badRequest)
    assertRejected("GET / HTTP/1.1\r\nHost : a\r\n\r\n", .badRequest)
    assertRejected("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", .badRequest)
    assertRejected("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", .badRequest)
    assertRejected("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", .badRequest)
    assertRejected("GET / HTTP/1.1\r\nHost: a\u{1}\r\n\r\n", .badRequest)
    assertRejected("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", .badRequest)
    assertRejected("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .badRequest)
    assertRejected("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", .badRequest)
    assertRejected("GET / HTTP/1.x\r\nHost: a\r\n\r\n", .badRequest)
    assertRejected("\u{16}\u{3}\u{1}\u{0}\r\n\r\n", .badRequest)  // TLS record on a plain port.
  }

  func testOtherVersionsAre505() {
    assertRejected("GET / HTTP/2.0\r\n\r\n", .httpVersionNotSupported)
    assertRejected("GET / HTTP/1.2\r\nHost: a\r\n\r\n", .httpVersionNotSupported)
  }

  func testOversizedHeadsAre431EvenBeforeTheyEnd() {
    let big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "a", count: 9000)
    assertRejected(big, .requestHeaderFieldsTooLarge)
    assertRejected(big + "\r\n\r\n", .requestHeaderFieldsTooLarge)
    var many = "GET / HTTP/1.1\r\nHost: a\r\n"
    for index in 0..<80 { many += "X-\(index): 1\r\n" }
    assertRejected(many + "\r\n", .requestHeaderFieldsTooLarge)
  }

  func testHeadAtExactlyTheLimitIsAccepted() throws {
    let prefix = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: "
    let padding = String(repeating: "p", count: parser.maxHeadBytes - prefix.utf8.count - 4)
    XCTAssertEqual(try head(prefix + padding + "\r\n\r\n").path, "/")
  }
}
