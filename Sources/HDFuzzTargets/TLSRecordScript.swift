// The client half of tls-record-layer: fuzz bytes read as a script of
// records a peer sends after the handshake (application data, any content
// type, TLS 1.3 zero padding, KeyUpdates, alerts), sealed by a real record
// layer keyed as the server's peer, interleaved with raw garbage and flipped
// bytes. Each sealed record carries what the server must make of it,
// from the RFC rather than from the code under test (RFC 8446 §5.2, §4.6.3;
// RFC 5246 §6.2).
import HDTLS

/// What opening one untampered record must give.
enum RecordExpectation: Equatable {
  /// `open` returns this; for data, `payload` is the plaintext.
  case opens(TLSRecordContent, payload: [UInt8])
  /// bodyLength refuses the header (type outside 20…24 or body over 2^14 + 256).
  case headerRejected
}

/// A stretch of the byte stream: one sealed record, or bytes no layer sealed.
struct StreamSegment {
  let start: Int
  let length: Int
  /// Nil for raw bytes.
  let sealed: SealedRecord?
  /// XOR applied so far at each position (flips may cancel out).
  var flips: [Int: UInt8] = [:]

  /// The sealed record, if its bytes are still the ones sealed.
  var untampered: SealedRecord? { flips.values.allSatisfy { $0 == 0 } ? sealed : nil }
}

struct SealedRecord {
  let expectation: RecordExpectation
  /// The client's transmit key generation when sealed: the server opens it
  /// only while its receive key is at the same one.
  let keyGeneration: Int
}

/// The bytes a client sent, and what each record in them means.
struct RecordStream {
  private(set) var bytes: [UInt8] = []
  private(set) var segments: [StreamSegment] = []
  /// Client KeyUpdates sent (its transmit key generation).
  private(set) var keyGeneration = 0
  private let version: TLSVersion
  private var scratch: [UInt8]

  static let streamBytesMax = 96 * 1_024
  static let segmentsMax = 96
  /// Largest plaintext + padding a script asks for: past the limit, so the
  /// header check sees records that are too long.
  static let plaintextBytesMax = TLSRecordLayer.maxRecordBodyBytes + 64

  init(version: TLSVersion) {
    self.version = version
    scratch = [UInt8](repeating: 0, count: Self.plaintextBytesMax + 64)
  }

  var isFull: Bool { bytes.count >= Self.streamBytesMax || segments.count >= Self.segmentsMax }

  /// Runs one script step; false when the input is used up.
  mutating func step(_ input: inout FuzzInput, client: UnsafeMutablePointer<TLSRecordLayer>) -> Bool {
    guard input.remaining > 0 else { return false }
    switch input.byte() % 7 {
    case 0:  // application data from the input
      let content = input.take(Int(input.byte()))
      seal(type: 23, content, padding: version == .tls13 ? Int(input.byte() % 32) : 0, client)
    case 1:  // any content type, any padding
      let type = input.byte()
      let content = input.take(Int(input.byte()))
      seal(type: type, content, padding: version == .tls13 ? Int(input.byte()) : 0, client)
    case 2:  // a large record (up to and past the limit), patterned
      let size = (Int(input.byte()) << 8 | Int(input.byte())) % (Self.plaintextBytesMax + 1)
      let seed = input.byte()
      seal(type: 23, (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }, padding: 0, client)
    case 3:
      keyUpdate(input.byte(), client)
    case 4:  // close_notify or an alert, as a peer's layer seals them
      let description = input.byte()
      let length = scratch.withUnsafeMutableBytes { client.pointee.sealAlert(description, at: $0.baseAddress!) }
      append(length, expectation: Self.expected(version, type: 21, [description == 0 ? 1 : 2, description], padding: 0))
    case 5:  // garbage
      let raw = input.take(Int(input.byte()))
      segments.append(StreamSegment(start: bytes.count, length: raw.count, sealed: nil))
      bytes += raw
    default:  // flip bits of the last record
      let at = Int(input.byte()) << 8 | Int(input.byte())
      let mask = max(input.byte(), 1)
      guard let last = segments.indices.last, segments[last].length > 0 else { return true }
      let position = at % segments[last].length
      bytes[segments[last].start + position] ^= mask
      segments[last].flips[position, default: 0] ^= mask
    }
    return true
  }

  /// TLS 1.3: the layer's own KeyUpdate (request 0 or 1; its key moves on)
  /// or a hand-made one whose request byte is anything (the key stays).
  /// TLS 1.2 has no KeyUpdate: the message is sealed as a handshake record.
  private mutating func keyUpdate(_ choice: UInt8, _ client: UnsafeMutablePointer<TLSRecordLayer>) {
    if version == .tls13 && choice < 128 {
      let requested = choice & 1 == 1
      let length = scratch.withUnsafeMutableBytes { client.pointee.sealKeyUpdate(at: $0.baseAddress!, requestingPeerUpdate: requested) }
      guard length > 0 else { return }
      append(length, expectation: .opens(.keyUpdate(requested: requested), payload: []))
      keyGeneration += 1
      return
    }
    seal(type: 22, [24, 0, 0, 1, choice], padding: 0, client)
  }

  /// Seals `content` as one record of `type`; TLS 1.3 puts `padding` zeros
  /// after the inner type byte (sealing the real type as plaintext and the
  /// last zero as the layer's type byte).
  private mutating func seal(type: UInt8, _ content: [UInt8], padding: Int, _ client: UnsafeMutablePointer<TLSRecordLayer>) {
    let padding = min(padding, Self.plaintextBytesMax - content.count)
    let inner = padding > 0 ? content + [type] + [UInt8](repeating: 0, count: padding - 1) : content
    let length = scratch.withUnsafeMutableBytes { out in
      let base = out.baseAddress!
      var used = client.pointee.beginRecord(at: base, plaintextBytes: inner.count, type: type)
      inner.withUnsafeBytes { source in
        // In two pieces, as frames from two blocks are sealed.
        let half = inner.count / 2
        if half > 0 { client.pointee.seal(to: base + used, from: source.baseAddress!, count: half) }
        if inner.count > half { client.pointee.seal(to: base + used + half, from: source.baseAddress! + half, count: inner.count - half) }
      }
      used += inner.count
      return used + client.pointee.finishRecord(at: base + used, type: padding > 0 ? 0 : type)
    }
    append(length, expectation: Self.expected(version, type: type, content, padding: padding))
  }

  private mutating func append(_ length: Int, expectation: RecordExpectation) {
    segments.append(StreamSegment(start: bytes.count, length: length,
                                  sealed: SealedRecord(expectation: expectation, keyGeneration: keyGeneration)))
    bytes += scratch[0..<length]
  }

  /// What the receiving side of an untampered record of `type` must report.
  static func expected(_ version: TLSVersion, type: UInt8, _ content: [UInt8], padding: Int) -> RecordExpectation {
    let tls13 = version == .tls13
    let body = content.count + padding + 16 + (tls13 ? 1 : 8)
    guard body <= TLSRecordLayer.maxRecordBodyBytes, tls13 || (20...24).contains(type) else { return .headerRejected }
    // Plaintext over 2^14 (TLS 1.3: inner plaintext, type byte and padding included, over 2^14 + 1).
    let innerBytes = content.count + (tls13 ? 1 + padding : 0)
    guard innerBytes <= TLSRecordLayer.maxPlaintextBytes + (tls13 ? 1 : 0) else { return .opens(.failed(.recordOverflow), payload: []) }
    var realType = type
    var payload = content
    if tls13 {
      // TLSInnerPlaintext: the type is the last non-zero byte; none is an error.
      var inner = content + [type]
      while inner.last == 0 { inner.removeLast() }
      guard let last = inner.popLast() else { return .opens(.failed(.badRecordMAC), payload: []) }
      realType = last
      payload = inner
    }
    switch realType {
    case 23:
      return .opens(.data(offset: tls13 ? 5 : 13, count: payload.count), payload: payload)
    case 21 where payload.count == 2:
      return .opens(payload[1] == 0 ? .closeNotify : .alert(payload[1]), payload: [])
    case 22 where tls13 && payload.count == 5 && payload[0...3] == [24, 0, 0, 1] && payload[4] <= 1:
      return .opens(.keyUpdate(requested: payload[4] == 1), payload: [])
    default:
      return .opens(.failed(.protocolError), payload: [])
    }
  }
}
