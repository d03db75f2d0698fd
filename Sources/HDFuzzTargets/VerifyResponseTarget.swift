// The verify_clients controller's answer: HTTP response head, Content-Length
// or chunked body (HDRelay.HTTPClient, shared with ACME and the mesh/probe
// clients), then the {"Allow":…} decision (VerifyHTTPClient).
import HDRelay

extension FuzzTargets {
  static let verifyResponse = FuzzTarget(
    name: "verify-response",
    summary: "verify_clients response: status line, framing, chunked body, Allow JSON",
    maxInputBytes: 24_000
  ) { raw, checks throws(FuzzFailure) in
    var input = FuzzInput(raw)
    let seed = input.byte()
    let data = input.rest()
    let pieced = answer(chunks(data, seed: seed))
    let whole = answer([data[...]])
    if data.count <= 16 * 1024 + 4096 {
      try checks.require(pieced == whole, "answer depends on how the bytes arrived: \(pieced) vs \(whole)")
    }
    if pieced == .allowed {
      // The status line (up to the first CR) is "HTTP/1.x 200 …".
      let statusLine = Array(data.prefix(while: { $0 != 13 }))
      try checks.require(statusLine.count >= 12 && statusLine.starts(with: Array("HTTP/1.".utf8))
                           && Array(statusLine[8..<12]) == Array(" 200".utf8),
                         "allowed without a 200 status line")
    }
  }

  private static func answer(_ pieces: [ArraySlice<UInt8>]) -> VerifyOutcome {
    var index = 0
    var rest = pieces.first ?? []
    let client = HTTPClient(bodyBytesMax: VerifyHTTPClient.bodyBytesMax)
    return VerifyHTTPClient.outcome(client.readAnswer(isHead: false) { buffer in
      while rest.isEmpty {
        index += 1
        guard index < pieces.count else { return .end }
        rest = pieces[index]
      }
      let n = min(buffer.count, rest.count)
      rest.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
      rest = rest.dropFirst(n)
      return .bytes(n)
    })
  }
}

extension Array where Element == UInt8 {
  func contains(subsequence: [UInt8]) -> Bool {
    guard subsequence.count <= count else { return false }
    for i in 0...(count - subsequence.count) where self[i..<(i + subsequence.count)].elementsEqual(subsequence) {
      return true
    }
    return false
  }
}
