// The relay's own TLS record layer (HDTLS/TLSRecordLayer, CTLS/record_cipher.c)
// after the handshake, as the worker runs it (Worker+TLSRecords). Two layers
// from fixed keys face each other: a client, whose transmit is the server's
// receive, seals a fuzz-scripted stream (TLSRecordScript), and the server
// under test frames and opens it in fuzz-chosen receives (TLSRecordReplay).
// The first byte picks TLS 1.2 or 1.3, AES-128 or AES-256 and whether the
// sequence numbers start just below 2^24 (where the server moves its TLS 1.3
// transmit key on by itself); the second the receive sizes; the rest is the
// script.
import HDTLS

extension FuzzTargets {
  static let tlsRecordLayer = FuzzTarget(
    name: "tls-record-layer",
    summary: "worker TLS record layer: sealed/padded/tampered/garbage records, KeyUpdates, alerts in arbitrary receives",
    maxInputBytes: 4_096
  ) { raw, checks throws(FuzzFailure) in
    var input = FuzzInput(raw)
    let setup = input.byte()
    let chunkSeed = input.byte()
    let version: TLSVersion = setup & 1 == 0 ? .tls13 : .tls12
    let cipher: TLSRecordCipher = setup & 2 == 0 ? .aes128GCM : .aes256GCM
    let firstSequence: UInt64 = setup & 4 == 0 ? 0 : (1 << 24) - 2
    guard let pair = RecordLayerPair(version: version, cipher: cipher, firstSequence: firstSequence) else {
      throw checks.fail("no record layer for \(version) \(cipher)")
    }
    defer { pair.free() }

    var stream = RecordStream(version: version)
    while !stream.isFull, stream.step(&input, client: pair.client) {}

    let replay = TLSRecordReplay(server: pair.server, client: pair.client, stream: stream, checks: checks)
    var offset = 0
    for piece in chunks(stream.bytes, seed: chunkSeed) where !piece.isEmpty {
      // Each receive in a buffer of exactly its size, so ASan sees any read past it.
      let buffer = UnsafeMutableRawPointer.allocate(byteCount: piece.count, alignment: 16)
      defer { buffer.deallocate() }
      piece.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: piece.count) }
      try replay.receive(buffer, piece.count, streamOffset: offset)
      offset += piece.count
      if replay.closed { break }
    }
    guard !replay.closed else { return }
    // Not closed: every record was whole and opened, and only a cut last one is held.
    let sealedOnly = stream.segments.allSatisfy { $0.untampered != nil }
    if sealedOnly {
      try checks.require(replay.recordsOpened == stream.segments.count && replay.carriedBytes == 0,
                         "opened \(replay.recordsOpened) of \(stream.segments.count) sealed records, \(replay.carriedBytes) bytes held")
    }
  }
}

/// A client layer and the server layer under test, keyed as the two ends of one session.
struct RecordLayerPair {
  let client: UnsafeMutablePointer<TLSRecordLayer>
  let server: UnsafeMutablePointer<TLSRecordLayer>

  init?(version: TLSVersion, cipher: TLSRecordCipher, firstSequence: UInt64) {
    func key(_ seed: Int) -> TrafficKey {
      TrafficKey(key: (0..<cipher.keyBytes).map { UInt8(truncatingIfNeeded: $0 * 7 + seed) },
                 fixedIV: (0..<(version == .tls13 ? 12 : 4)).map { UInt8(truncatingIfNeeded: $0 * 11 + seed) },
                 nextSequence: firstSequence)
    }
    // SHA-256 secrets for AES-128 suites, SHA-384 for AES-256 (TLS 1.3 only).
    let secretBytes = version == .tls13 ? (cipher == .aes128GCM ? 32 : 48) : 0
    let toServerSecret = (0..<secretBytes).map { UInt8(truncatingIfNeeded: $0 * 3 + 1) }
    let toClientSecret = (0..<secretBytes).map { UInt8(truncatingIfNeeded: $0 * 5 + 2) }
    let toServer = key(1)
    let toClient = key(101)
    guard let client = TLSRecordLayer.make(keys: SessionTrafficKeys(version: version, cipher: cipher, transmit: toServer, receive: toClient),
                                           transmitSecret: toServerSecret, receiveSecret: toClientSecret)
    else { return nil }
    guard let server = TLSRecordLayer.make(keys: SessionTrafficKeys(version: version, cipher: cipher, transmit: toClient, receive: toServer),
                                           transmitSecret: toClientSecret, receiveSecret: toServerSecret)
    else {
      TLSRecordLayer.free(client)
      return nil
    }
    self.client = client
    self.server = server
  }

  func free() {
    TLSRecordLayer.free(client)
    TLSRecordLayer.free(server)
  }
}
