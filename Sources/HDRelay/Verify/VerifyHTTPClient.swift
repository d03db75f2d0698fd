// The admission controller's HTTP POST (verify_clients.url), on the shared
// control-plane HTTP client: the verifier threads block here, never a worker.
// The body is read up to 4 KiB, as derper does; the controller's certificate
// must chain to the trust store and name the URL's host (node keys and client
// addresses go to it).
import HDConfig
import HDProtocol
import HDTLS

package struct VerifyHTTPClient {
  let url: HTTPURL
  /// Trusted CAs for https:// controllers (tls_ca_file, else OpenSSL's default verify paths).
  var trust: TLSTrust = .openSSLDefaults
  /// Largest response body read (derper: io.LimitReader 4 KiB).
  package static let bodyBytesMax = 4096

  /// POSTs `body`; answers by `deadlineNanoseconds` (monotonic) or `stop()`.
  func post(_ body: [UInt8], deadlineNanoseconds: UInt64, stop: () -> Bool) -> VerifyOutcome {
    let client = HTTPClient(trust: trust, bodyBytesMax: Self.bodyBytesMax)
    let request = HTTPClientRequest(
      method: "POST", url: url, headers: [("Content-Type", "application/json")], body: body)
    return VerifyHTTPClient.outcome(client.send(request, deadlineNanoseconds: deadlineNanoseconds, stop: stop))
  }

  /// The controller's answer (or why there is none) as an admission decision.
  package static func outcome(_ answer: Result<HTTPClientResponse, HTTPClientError>) -> VerifyOutcome {
    switch answer {
    case .failure(.timeout):
      return .failed(.timeout)
    case .failure(.unreachable), .failure(.stopped):
      return .failed(.unreachable)
    case .failure(.badResponse):
      return .failed(.badResponse)
    case .success(let response):
      guard response.status == 200 else { return .failed(.badStatus) }
      return VerifyHTTPClient.decide(response.body)
    }
  }

  /// `{"Allow":true}` → allowed, `{"Allow":false}` → denied (Go's case-insensitive field match).
  package static func decide(_ body: [UInt8]) -> VerifyOutcome {
    guard let value = try? JSONValue.parse(body), case .object(let fields) = value,
      case .bool(let allow)? = JSONValue.field(fields, "Allow")
    else {
      // A missing Allow decodes to false in derper (a denial), but a body that is
      // not a JSON object at all is an error.
      if let value = try? JSONValue.parse(body), case .object(let fields) = value,
        JSONValue.field(fields, "Allow") == nil
      {
        return .denied
      }
      return .failed(.badResponse)
    }
    return allow ? .allowed : .denied
  }
}
