// The relay's server side of one connection, fed through ConnectionFeed: the
// HTTP head, the ClientInfo box and its JSON, then any frames, split across
// receives. In "sealed" mode the target builds a valid upgrade and seals the
// fuzzed JSON to the relay's key (random bytes never open a NaCl box), so the
// fuzzer reaches registration, the frame handlers and the mesh frames.
import HDProtocol
import HDRelay

extension FuzzTargets {
  /// A fixed client key: inputs stay valid across runs.
  private static let clientKeys = DERPKeyPair(privateKey: DERPPrivateKey(raw: DERPKey(w0: 9, w1: 8, w2: 7, w3: 6)))

  static let serverConnection = FuzzTarget(
    name: "server-connection",
    summary: "relay connection state machine: HTTP upgrade, ClientInfo box + JSON, every frame type, partial frames",
    maxInputBytes: 70_000
  ) { raw, checks throws(FuzzFailure) in
    let feed = try sharedFeed(tls: false, checks)
    var input = FuzzInput(raw)
    let mode = input.byte()
    let seed = input.byte()
    var stream: [UInt8] = []
    let sealed = mode & 1 != 0
    let fastStart = mode & 2 != 0
    if sealed {
      let jsonBytes = Int(input.byte()) << 8 | Int(input.byte())
      var json = input.take(jsonBytes)
      json = replacing(json, Array("$MESHKEY".utf8), with: Array(feed.meshKey.hex.utf8))
      var head = "GET /derp HTTP/1.1\r\nHost: fuzz\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n"
      if fastStart { head += "Derp-Fast-Start: 1\r\n" }
      stream = Array((head + "\r\n").utf8)
      let box = NaClBox.seal(json, to: feed.serverKeys.publicKey, from: clientKeys.privateKey)
      var frame = [UInt8](repeating: 0, count: DERPConstants.frameHeaderBytes + DERPConstants.keyBytes)
      frame.withUnsafeMutableBytes { p in
        FrameHeader.encode(type: .clientInfo, payloadBytes: DERPConstants.keyBytes + box.count, to: p.baseAddress!)
        clientKeys.publicKey.store(to: p.baseAddress! + DERPConstants.frameHeaderBytes)
      }
      stream += frame + box
    }
    stream += input.rest()
    let outcome: ConnectionFeed.Outcome
    do throws(ConnectionFeed.Violation) {
      outcome = try feed.feed(chunks(stream, seed: seed))
    } catch {
      throw checks.fail(error.description)
    }
    try checks.require(outcome.bytesFed <= stream.count, "fed \(outcome.bytesFed) of \(stream.count) bytes")
    try checkServerOutput(outcome, fastStart: sealed && fastStart, checks)
  }

  /// The relay's answer is an HTTP response, or (after an upgrade) the 101
  /// unless fast start, then whole frames none larger than a relayed packet's,
  /// ServerKey first.
  private static func checkServerOutput(_ outcome: ConnectionFeed.Outcome, fastStart: Bool, _ checks: Checks)
    throws(FuzzFailure)
  {
    let out = outcome.output
    guard outcome.upgraded else {
      try checks.require(out.isEmpty || out.starts(with: Array("HTTP/1.1 ".utf8)), "answer is not an HTTP response")
      return
    }
    var offset = 0
    if !fastStart || !out.starts(with: [FrameType.serverKey.rawValue]) {
      try checks.require(out.starts(with: Array("HTTP/1.1 101".utf8)), "upgrade answered without 101")
      guard let end = headEnd(out) else { throw checks.fail("101 response without a blank line") }
      offset = end
    }
    var first = true
    while out.count - offset >= DERPConstants.frameHeaderBytes {
      let header = out.withUnsafeBytes { FrameHeader(decodingFrom: $0.baseAddress! + offset) }
      try checks.require(Int(header.payloadBytes) <= 2 * DERPConstants.keyBytes + DERPConstants.maxPacketBytes,
                         "relay sent a frame of \(header.payloadBytes) bytes")
      if first {
        try checks.require(header.type == .serverKey, "first frame is type \(header.typeByte), not ServerKey")
        first = false
      }
      offset += DERPConstants.frameHeaderBytes + Int(header.payloadBytes)
    }
    if out.count < ConnectionFeed.outputBytesMax {
      try checks.require(offset == out.count, "relay output ends inside a frame")
    }
  }

  private static func headEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
      return i + 4
    }
    return nil
  }

  /// Compares in place: a copy per position made this target's per-input
  /// cost grow with the JSON's length times the pattern's.
  private static func replacing(_ bytes: [UInt8], _ pattern: [UInt8], with replacement: [UInt8]) -> [UInt8] {
    guard let first = pattern.first, bytes.contains(first) else { return bytes }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    while i < bytes.count {
      if bytes[i] == first && bytes.count - i >= pattern.count && bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
        out += replacement
        i += pattern.count
      } else {
        out.append(bytes[i])
        i += 1
      }
    }
    return out
  }
}
