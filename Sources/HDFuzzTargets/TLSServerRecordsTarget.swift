// The relay's userspace TLS server path fed raw ciphertext: the bytes a
// client sends to a DERP port with tls_cert set (ClientHello, then records),
// in receives of arbitrary sizes, through the same ConnectionFeed worker as
// server-connection (receive → lent to the FIFO BIO → handshake / record
// decryption → teardown). Fuzzed bytes cannot finish a handshake (the
// server's random changes every run, so no recorded client flight verifies),
// so this searches ClientHello parsing, record framing (RecordFraming), the
// BIO's lend/take-back across pieces, alerts and the teardown of a failed
// session; ConnectionFeed checks that no plaintext reaches the HTTP/DERP
// parsers before a finished handshake and that nothing is left after close.
import HDRelay

extension FuzzTargets {
  /// Longest TLS record on the wire: 2^14 plaintext + 2048 expansion + 5 header (RFC 5246 §6.2.3).
  private static let tlsRecordBytesMax = 16_384 + 2_048 + 5

  static let tlsServerRecords = FuzzTarget(
    name: "tls-server-records",
    summary: "userspace TLS server: ClientHello and records in arbitrary pieces through the FIFO BIO, teardown",
    maxInputBytes: 20_000
  ) { raw, checks throws(FuzzFailure) in
    let feed = try sharedFeed(tls: true, checks)
    var input = FuzzInput(raw)
    let seed = input.byte()
    let stream = input.rest()
    let outcome: ConnectionFeed.Outcome
    do throws(ConnectionFeed.Violation) {
      outcome = try feed.feed(chunks(stream, seed: seed))
    } catch {
      throw checks.fail(error.description)
    }
    try checks.require(outcome.bytesFed <= stream.count, "fed \(outcome.bytesFed) of \(stream.count) bytes")
    try checks.require(!outcome.upgraded, "a DERP upgrade without a TLS handshake a client finished")
    try checkTLSOutput(outcome.output, checks)
  }

  /// What the relay sends is whole TLS records (handshake messages, alerts),
  /// none longer than the protocol allows. (Not the record version: OpenSSL
  /// answers a ClientHello of a bad version with an alert in that version.)
  private static func checkTLSOutput(_ out: [UInt8], _ checks: Checks) throws(FuzzFailure) {
    var offset = 0
    while out.count - offset >= 5 {
      let type = out[offset]
      let length = Int(out[offset + 3]) << 8 | Int(out[offset + 4])
      try checks.require((20...23).contains(type), "relay sent a record of content type \(type)")
      try checks.require(5 + length <= tlsRecordBytesMax, "relay sent a record of \(length) bytes")
      offset += 5 + length
    }
    if out.count < ConnectionFeed.outputBytesMax {
      try checks.require(offset == out.count, "relay output ends inside a TLS record")
    }
  }
}
