// A complete response ready to be serialised. Bodies are small (a scrape is a
// few KiB to a few hundred KiB), so the whole response is built in memory.

struct HTTPResponse {
  var status: HTTPStatus
  var contentType: String
  var body: [UInt8]
  /// Extra header fields, e.g. `Allow` on 405.
  var extraHeaders: [(String, String)] = []

  init(status: HTTPStatus, contentType: String, body: [UInt8], extraHeaders: [(String, String)] = []) {
    self.status = status
    self.contentType = contentType
    self.body = body
    self.extraHeaders = extraHeaders
  }

  /// A short plain-text response, used for every error.
  static func text(_ status: HTTPStatus, _ message: String, extraHeaders: [(String, String)] = []) -> HTTPResponse {
    HTTPResponse(
      status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8),
      extraHeaders: extraHeaders)
  }

  /// The bytes on the wire. `Content-Length` always gives the body's length,
  /// also for HEAD, where the body itself is left out (RFC 9110 §9.3.2).
  func serialized(includeBody: Bool, keepAlive: Bool) -> [UInt8] {
    var head = "HTTP/1.1 \(status.rawValue) \(status.reasonPhrase)\r\n"
    head += "Content-Type: \(contentType)\r\n"
    head += "Content-Length: \(body.count)\r\n"
    head += "Cache-Control: no-store\r\n"
    for (name, value) in extraHeaders { head += "\(name): \(value)\r\n" }
    head += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
    var bytes = Array(head.utf8)
    if includeBody { bytes += body }
    return bytes
  }
}
