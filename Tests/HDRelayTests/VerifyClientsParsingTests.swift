// The pieces of verify_clients that need no sockets: URL parsing, the
// controller's response framing (Content-Length, chunked, close-delimited)
// and the Allow decision, including Go's case-insensitive field match.
import HDConfig
import HDProtocol
import XCTest
@testable import HDRelay

final class VerifyClientsParsingTests: XCTestCase {
  func testURLParts() throws {
    let plain = try HTTPURL.parse("http://headscale.local/verify").get()
    XCTAssertEqual(plain, HTTPURL(isHTTPS: false, host: "headscale.local", port: 80, pathAndQuery: "/verify"))
    XCTAssertEqual(plain.hostHeader, "headscale.local")
    let v6 = try HTTPURL.parse("http://[::1]:8080/a/b?x=1#frag").get()
    XCTAssertEqual(v6, HTTPURL(isHTTPS: false, host: "::1", port: 8080, pathAndQuery: "/a/b?x=1"))
    XCTAssertEqual(v6.hostHeader, "[::1]:8080")
    XCTAssertEqual(try HTTPURL.parse("https://h.example").get().port, 443)
    XCTAssertEqual(try HTTPURL.parse("http://h.example").get().pathAndQuery, "/")
    for bad in ["ftp://h/verify", "http://", "http://:80/x", "http://h:0/", "http://h:70000/", "http://h:8o/",
                "http://u@h/", "http://[::1/", "http://h /x"] {
      XCTAssertThrowsError(try HTTPURL.parse(bad).get(), bad)
    }
  }

  private func head(_ text: String) -> (HTTPResponseHead?, [UInt8]) {
    let bytes = Array(text.utf8)
    return (HTTPResponseHead(bytes), bytes)
  }

  func testContentLengthBody() throws {
    let (parsed, bytes) = head("HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"Allow\":true}")
    let h = try XCTUnwrap(parsed)
    XCTAssertEqual(h.status, 200)
    XCTAssertTrue(h.bodyComplete(in: bytes))
    XCTAssertEqual(VerifyHTTPClient.decide(try XCTUnwrap(h.body(in: bytes))), .allowed)
    let (partial, partialBytes) = head("HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"Allow\"")
    XCTAssertFalse(try XCTUnwrap(partial).bodyComplete(in: partialBytes))
    XCTAssertNil(HTTPResponseHead(Array("HTTP/1.1 200 OK\r\nContent-Length: 1".utf8)), "head not complete yet")
    XCTAssertNil(HTTPResponseHead(Array("SSH-2.0-x\r\n\r\n".utf8)), "not HTTP")
    XCTAssertNil(HTTPResponseHead(Array("HTTP/1.1  200 OK\r\n\r\n".utf8)), "two spaces (fuzz finding)")
    XCTAssertNil(HTTPResponseHead(Array("HTTP/1.1 200 OK\r\nContent-Length: -200\r\n\r\n{}".utf8)), "negative length (fuzz finding)")
    XCTAssertEqual(HTTPResponseHead(Array("HTTP/1.1 200\r\n\r\n".utf8))?.status, 200, "no reason phrase is fine")
  }

  func testChunkedBody() throws {
    let (parsed, bytes) = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"All\r\n9;x=y\r\now\":false\r\n1\r\n}\r\n0\r\n\r\n")
    let h = try XCTUnwrap(parsed)
    XCTAssertTrue(h.bodyComplete(in: bytes))
    XCTAssertEqual(h.body(in: bytes).map { String(decoding: $0, as: UTF8.self) }, "{\"Allow\":false}")
    XCTAssertEqual(VerifyHTTPClient.decide(try XCTUnwrap(h.body(in: bytes))), .denied)
    let (open, openBytes) = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"All")
    XCTAssertFalse(try XCTUnwrap(open).bodyComplete(in: openBytes))
  }

  func testAllowDecisionLikeGo() {
    XCTAssertEqual(VerifyHTTPClient.decide(Array("{\"Allow\":true}".utf8)), .allowed)
    XCTAssertEqual(VerifyHTTPClient.decide(Array(" {\"allow\": true, \"extra\": [1]} ".utf8)), .allowed)
    XCTAssertEqual(VerifyHTTPClient.decide(Array("{\"Allow\":false}".utf8)), .denied)
    XCTAssertEqual(VerifyHTTPClient.decide(Array("{}".utf8)), .denied, "a missing Allow decodes to false")
    XCTAssertEqual(VerifyHTTPClient.decide(Array("{\"Allow\":\"yes\"}".utf8)), .failed(.badResponse))
    XCTAssertEqual(VerifyHTTPClient.decide(Array("[true]".utf8)), .failed(.badResponse))
    XCTAssertEqual(VerifyHTTPClient.decide(Array("{\"Allow\":tr".utf8)), .failed(.badResponse))
  }

  func testRequestBodyAndSource() {
    let key = DERPKeyPair.generate().publicKey
    var v4 = sockaddr_in()
    v4.sin_family = sa_family_t(AF_INET)
    v4.sin_addr.s_addr = inet_addr("192.0.2.7")
    var storage = sockaddr_storage()
    withUnsafeMutableBytes(of: &storage) { out in withUnsafeBytes(of: &v4) { out.copyMemory(from: $0) } }
    let request = VerifyRequest(location: 42, key: key, peer: storage)
    XCTAssertEqual(String(decoding: request.jsonBody, as: UTF8.self),
                   "{\"NodePublic\":\"nodekey:\(key.hex)\",\"Source\":\"192.0.2.7\"}")
    // Round trip through the ring record.
    let body = UnsafeMutableRawPointer.allocate(byteCount: VerifyRequest.bodyBytes, alignment: 8)
    defer { body.deallocate() }
    request.write(to: body)
    let back = VerifyRequest(body: body)
    XCTAssertEqual(back.location, 42)
    XCTAssertEqual(back.sourceText, "192.0.2.7")
    XCTAssertEqual(back.key, key)

    var v6 = sockaddr_in6()
    v6.sin6_family = sa_family_t(AF_INET6)
    _ = inet_pton(AF_INET6, "::ffff:10.1.2.3", &v6.sin6_addr)
    withUnsafeMutableBytes(of: &storage) { out in withUnsafeBytes(of: &v6) { out.copyMemory(from: $0) } }
    XCTAssertEqual(VerifyRequest(location: 1, key: key, peer: storage).sourceText, "10.1.2.3", "IPv4-mapped is unmapped")
    _ = inet_pton(AF_INET6, "2001:db8::5", &v6.sin6_addr)
    withUnsafeMutableBytes(of: &storage) { out in withUnsafeBytes(of: &v6) { out.copyMemory(from: $0) } }
    XCTAssertEqual(VerifyRequest(location: 1, key: key, peer: storage).sourceText, "2001:db8::5")
  }
}
