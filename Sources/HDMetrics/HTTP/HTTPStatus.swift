// The status codes the metrics server sends, with their reason phrases.

enum HTTPStatus: Int, CaseIterable {
  case ok = 200
  case badRequest = 400
  case notFound = 404
  case methodNotAllowed = 405
  case requestTimeout = 408
  case requestHeaderFieldsTooLarge = 431
  case internalServerError = 500
  case serviceUnavailable = 503
  case httpVersionNotSupported = 505

  var reasonPhrase: String {
    switch self {
    case .ok: return "OK"
    case .badRequest: return "Bad Request"
    case .notFound: return "Not Found"
    case .methodNotAllowed: return "Method Not Allowed"
    case .requestTimeout: return "Request Timeout"
    case .requestHeaderFieldsTooLarge: return "Request Header Fields Too Large"
    case .internalServerError: return "Internal Server Error"
    case .serviceUnavailable: return "Service Unavailable"
    case .httpVersionNotSupported: return "HTTP Version Not Supported"
    }
  }
}
