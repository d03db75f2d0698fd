// Maps a request to its answer. Only GET and HEAD exist here; other methods on
// a known path get 405 with `Allow`, unknown paths 404 whatever the method.
// /debug/* are unknown paths unless metrics.debug_endpoints is on.

enum MetricsRoute: Equatable {
  case metrics
  case health
  case debugWorkers
  case debugPeers
  case debugMesh

  static func match(path: String, debugEndpoints: Bool) -> MetricsRoute? {
    switch path {
    case "/metrics": return .metrics
    case "/health": return .health
    case "/debug/workers" where debugEndpoints: return .debugWorkers
    case "/debug/peers" where debugEndpoints: return .debugPeers
    case "/debug/mesh" where debugEndpoints: return .debugMesh
    default: return nil
    }
  }
}

struct MetricsRouter {
  var debugEndpoints: Bool
  /// Produces the response for a matched GET/HEAD; called only then, so a
  /// 404/405 never costs a scrape.
  var render: (MetricsRoute) -> HTTPResponse

  func respond(to head: HTTPRequestHead) -> HTTPResponse {
    guard let route = MetricsRoute.match(path: head.path, debugEndpoints: debugEndpoints) else {
      return .text(.notFound, "not found")
    }
    guard head.method == "GET" || head.method == "HEAD" else {
      return .text(.methodNotAllowed, "method not allowed", extraHeaders: [("Allow", "GET, HEAD")])
    }
    return render(route)
  }
}
