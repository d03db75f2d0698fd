// Follows TLS record boundaries in the ciphertext fed to a session, without
// decrypting: 5-byte headers (type, version, 16-bit length) and bodies. It
// classifies bad input before OpenSSL does (not TLS at all, oversized
// record), and tells the caller how many bytes finish the current record so
// handshake reads can stop exactly at the end of the client's Finished: then
// nothing beyond the handshake sits in userspace when kernel receive starts.
struct RecordFraming {
  /// RFC 8446 §5.2 / RFC 5246 §6.2.3: ciphertext ≤ 2^14 + 256 bytes.
  static let maxRecordBodyBytes = 16_384 + 256
  static let headerBytes = 5

  enum Verdict: Equatable {
    case ok
    case notTLS
    case malformedHeader
    case recordOverflow
  }

  private var headerSeen = 0
  private var headerType: UInt8 = 0
  private var headerVersionMajor: UInt8 = 0
  private var headerLengthHigh: UInt8 = 0
  private var bodyLeft = 0
  private(set) var recordsStarted: UInt64 = 0
  private(set) var verdict = Verdict.ok
  /// Bytes fed in so far.
  private(set) var bytesConsumed = 0
  /// Stream offset where the offending record's header starts (valid once
  /// `verdict != .ok`): records before it are still good and get decrypted.
  private(set) var failureOffset = 0

  /// True when every byte fed so far ends a complete record.
  var isAtRecordBoundary: Bool { headerSeen == 0 && bodyLeft == 0 }

  /// Bytes still needed to complete the current header or record body;
  /// at a boundary, the 5 bytes of the next header.
  var bytesToNextBoundary: Int {
    if bodyLeft > 0 { return bodyLeft }
    return Self.headerBytes - headerSeen
  }

  mutating func consume(_ bytes: UnsafeRawBufferPointer) {
    var i = 0
    let n = bytes.count
    defer { bytesConsumed += n }
    while i < n && verdict == .ok {
      if bodyLeft > 0 {
        let step = min(bodyLeft, n - i)
        bodyLeft -= step
        i += step
        continue
      }
      let byte = bytes[i]
      i += 1
      switch headerSeen {
      case 0: headerType = byte
      case 1: headerVersionMajor = byte
      case 3: headerLengthHigh = byte
      case 4: finishHeader(lengthLow: byte, headerEndOffset: bytesConsumed + i)
      default: break
      }
      headerSeen = headerSeen == 4 ? 0 : headerSeen + 1
    }
  }

  private mutating func finishHeader(lengthLow: UInt8, headerEndOffset: Int) {
    let length = Int(headerLengthHigh) << 8 | Int(lengthLow)
    let isFirst = recordsStarted == 0
    recordsStarted &+= 1
    // The first record of a TLS connection is a handshake record (ClientHello).
    if isFirst && (headerType != 22 || headerVersionMajor != 3) {
      verdict = .notTLS
    } else if !(20...24).contains(headerType) || headerVersionMajor != 3 {
      verdict = .malformedHeader
    } else if length > Self.maxRecordBodyBytes {
      verdict = .recordOverflow
    }
    if verdict != .ok { failureOffset = headerEndOffset - Self.headerBytes }
    bodyLeft = length
  }
}
