// One HTTP/1.1 GET with `Connection: close` over plain TCP or TLS, bounded in
// time and size: for `hdctl status` (the relay's /health and /metrics) and
// for `hdctl probe` reading a DERP map from a URL. Not a general client: no
// redirects, no chunked bodies (neither server we talk to sends them).
@preconcurrency import Glibc
import HDClient
import HDConfig
import HDTLS

public struct HTTPFetchResponse: Sendable {
  public var status: Int
  public var headers: [(String, String)]
  public var body: [UInt8]

  public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

public struct HTTPFetchError: Error, Equatable, CustomStringConvertible {
  public let description: String
  init(_ description: String) { self.description = description }
}

public enum HTTPFetch {
  public static let responseBytesMax = 16 << 20

  /// GET `url`; https URLs are verified against `trustedCertificatesFile`
  /// (default: OpenSSL's default verify paths, so SSL_CERT_FILE works) and the URL's host.
  public static func get(
    _ url: HTTPURL, trustedCertificatesFile: String? = nil, timeoutSeconds: Double = 10
  ) -> Result<HTTPFetchResponse, HTTPFetchError> {
    let fd: Int32
    do {
      fd = try TCPConnector.connect(host: url.host, port: UInt16(url.port), timeoutSeconds: timeoutSeconds)
    } catch {
      return .failure(HTTPFetchError("\(url.hostHeader): \(error)"))
    }
    SocketTimeouts.set(fd, seconds: timeoutSeconds)
    let transport: ClientTransport
    if url.isHTTPS {
      var options = TLSClientOptions(serverName: TCPConnector.isIPLiteral(url.host) ? nil : url.host, verifyPeerName: url.host)
      TLSTrust.outbound(caFile: trustedCertificatesFile, setting: "--ca-file").apply(to: &options)
      do {
        transport = TLSTransport(stream: try TLSClientStream(fileDescriptor: fd, options: options))
      } catch {
        return .failure(HTTPFetchError("https://\(url.hostHeader): \(error)"))
      }
    } else {
      transport = PlainTransport(fileDescriptor: fd)
    }
    defer { transport.close() }
    let request = Array("GET \(url.pathAndQuery) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUser-Agent: hdctl\r\nConnection: close\r\n\r\n".utf8)
    var response: [UInt8] = []
    do {
      try request.withUnsafeBytes { try transport.write($0) }
      var chunk = [UInt8](repeating: 0, count: 16 * 1024)
      while response.count < responseBytesMax {
        let n = try chunk.withUnsafeMutableBytes { try transport.read(into: $0) }
        if n == 0 { break }
        response += chunk[0..<n]
      }
    } catch {
      if response.isEmpty { return .failure(HTTPFetchError("\(url.isHTTPS ? "https" : "http")://\(url.hostHeader): \(error)")) }
    }
    return parse(response)
  }

  static func parse(_ response: [UInt8]) -> Result<HTTPFetchResponse, HTTPFetchError> {
    guard let headEnd = findHeadEnd(response) else { return .failure(HTTPFetchError("incomplete HTTP response")) }
    let head = String(decoding: response[..<headEnd], as: UTF8.self)
    var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
    let statusFields = lines.removeFirst().split(separator: " ")
    guard statusFields.count >= 2, statusFields[0].hasPrefix("HTTP/1."), let status = Int(statusFields[1]) else {
      return .failure(HTTPFetchError("not an HTTP response"))
    }
    var headers: [(String, String)] = []
    for line in lines {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: " \t")))
    }
    var body = Array(response[(headEnd + 4)...])
    if let length = headers.first(where: { $0.0 == "content-length" }).flatMap({ Int($0.1) }), length < body.count {
      body = Array(body[..<length])
    }
    return .success(HTTPFetchResponse(status: status, headers: headers, body: body))
  }

  static func findHeadEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
      return i
    }
    return nil
  }
}

/// SO_RCVTIMEO and SO_SNDTIMEO on a blocking socket (OpenSSL reads the socket itself).
enum SocketTimeouts {
  static func set(_ fd: Int32, seconds: Double) {
    var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
  }
}

extension String {
  func trimmingCharacters(in set: String) -> String {
    var s = Substring(self)
    while let c = s.first, set.contains(c) { s = s.dropFirst() }
    while let c = s.last, set.contains(c) { s = s.dropLast() }
    return String(s)
  }
}

extension Substring {
  func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
