// The DERP port's HTTP request head (HDProtocol.HTTPRequestParser, as
// Worker+HTTP uses it) and the router's answer to it.
import HDProtocol

extension FuzzTargets {
  static let derpHTTPHead = FuzzTarget(
    name: "derp-http-head",
    summary: "DERP port request head, fed in pieces, then routed",
    maxInputBytes: 10_000
  ) { raw, checks throws(FuzzFailure) in
    var input = FuzzInput(raw)
    let seed = input.byte()
    let data = input.rest()
    let limit = HTTPRequestParser.defaultMaxHeadBytes
    // As the worker does: the bytes so far, after every receive.
    var incremental = HTTPRequestParser(maxHeadBytes: limit)
    var seen = 0
    var firstAnswer: (HTTPParseResult, Int)?
    for piece in chunks(data, seed: seed) {
      seen = piece.endIndex
      let result = data[0..<seen].withUnsafeBytes { incremental.parse($0) }
      if result != .needMore {
        firstAnswer = (result, seen)
        break
      }
    }
    guard let (result, prefix) = firstAnswer else {
      try checks.require(seen < limit, "\(seen) bytes without a head and still asking for more (limit \(limit))")
      return
    }
    // Parsing in one go must agree with parsing piece by piece.
    var oneShot = HTTPRequestParser(maxHeadBytes: limit)
    let whole = data[0..<prefix].withUnsafeBytes { oneShot.parse($0) }
    try checks.require(whole == result, "incremental parse \(result) differs from one-shot \(whole)")
    guard case .request(let request) = result else { return }
    try checks.require(request.headBytes > 0 && request.headBytes <= prefix && request.headBytes <= limit,
                       "head of \(request.headBytes) bytes from \(prefix) received (limit \(limit))")
    try checks.require(data[request.headBytes - 1] == UInt8(ascii: "\n"), "head does not end at a line feed")
    try checks.require(!request.method.isEmpty && !request.target.isEmpty, "empty method or target accepted")
    try checks.require(request.path.utf8.count <= request.target.utf8.count, "path longer than the target")
    let route = HTTPRouter.route(request, serverKey: DERPKey(w0: 1, w1: 2, w2: 3, w3: 4))
    if route.upgrade {
      try checks.require(request.path == HTTPRouter.derpPath, "upgrade on path \(request.path)")
    } else {
      try checks.require(route.response.starts(with: Array("HTTP/1.1 ".utf8)), "non-upgrade answer is not an HTTP response")
    }
  }
}
