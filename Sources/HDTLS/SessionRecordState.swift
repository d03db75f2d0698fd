// Per-SSL state that OpenSSL callbacks fill in: the TLS 1.3 traffic secrets
// (keylog callback) and the number of records each way (message callback with
// SSL3_RT_HEADER). OpenSSL 3.0 has no public record-sequence API, and kernel
// TLS needs the exact next sequence number for both directions.
internal import CTLS

/// Lives in one heap block per connection, reached from callbacks through the
/// SSL's ex_data slot 0 (keylog) and the message-callback argument (records).
struct SessionRecordState {
  static let secretCapacityBytes = 48  // SHA-384 suites have 48-byte secrets

  var clientTrafficSecret = InlineArray<48, UInt8>(repeating: 0)
  var serverTrafficSecret = InlineArray<48, UInt8>(repeating: 0)
  var clientTrafficSecretBytes = 0
  var serverTrafficSecretBytes = 0
  /// Records on the wire, counted from their 5-byte headers.
  var recordsWritten: UInt64 = 0
  var recordsRead: UInt64 = 0
  /// The counts when the handshake finished: later records use the traffic keys.
  var recordsWrittenAtHandshakeDone: UInt64 = 0
  var recordsReadAtHandshakeDone: UInt64 = 0
  /// The last alert the peer sent (description byte), or -1.
  var lastAlertReceived: Int16 = -1
  /// Record boundaries of the ciphertext fed in (server sessions).
  var framing = RecordFraming()

  static func allocate() -> UnsafeMutablePointer<SessionRecordState> {
    let state = UnsafeMutablePointer<SessionRecordState>.allocate(capacity: 1)
    state.initialize(to: SessionRecordState())
    return state
  }

  static func deallocate(_ state: UnsafeMutablePointer<SessionRecordState>) {
    // Secrets must not linger in freed memory.
    state.pointee.clientTrafficSecret = InlineArray(repeating: 0)
    state.pointee.serverTrafficSecret = InlineArray(repeating: 0)
    state.deinitialize(count: 1)
    state.deallocate()
  }

  /// Attaches `state` to `ssl` so both callbacks find it.
  static func attach(_ state: UnsafeMutablePointer<SessionRecordState>, to ssl: OpaquePointer) {
    _ = SSL_set_ex_data(ssl, 0, state)
    SSL_set_msg_callback(ssl, sessionMessageCallback)
    ctls_set_msg_callback_arg(ssl, state)
  }

  func trafficSecret(client: Bool) -> [UInt8] {
    let count = client ? clientTrafficSecretBytes : serverTrafficSecretBytes
    let source = client ? clientTrafficSecret : serverTrafficSecret
    return (0..<count).map { source[$0] }
  }
}

/// SSL_CTX keylog callback: keeps CLIENT/SERVER_TRAFFIC_SECRET_0 (TLS 1.3).
/// Lines look like `LABEL <client random hex> <secret hex>`.
let sessionKeylogCallback: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Void = { ssl, line in
  guard let ssl, let line, let raw = SSL_get_ex_data(ssl, 0) else { return }
  let state = raw.assumingMemoryBound(to: SessionRecordState.self)
  let text = String(cString: line)
  let fields = text.split(separator: " ")
  guard fields.count == 3 else { return }
  let isClient = fields[0] == "CLIENT_TRAFFIC_SECRET_0"
  guard isClient || fields[0] == "SERVER_TRAFFIC_SECRET_0" else { return }
  guard let secret = decodeHex(fields[2]), secret.count <= SessionRecordState.secretCapacityBytes else { return }
  for (i, byte) in secret.enumerated() {
    if isClient { state.pointee.clientTrafficSecret[i] = byte } else { state.pointee.serverTrafficSecret[i] = byte }
  }
  if isClient { state.pointee.clientTrafficSecretBytes = secret.count } else {
    state.pointee.serverTrafficSecretBytes = secret.count
  }
}

/// SSL message callback: counts record headers both ways and notes alerts.
let sessionMessageCallback:
  @convention(c) (Int32, Int32, Int32, UnsafeRawPointer?, Int, OpaquePointer?, UnsafeMutableRawPointer?) -> Void = {
    writing, _, contentType, buffer, length, _, arg in
    guard let arg else { return }
    let state = arg.assumingMemoryBound(to: SessionRecordState.self)
    if contentType == SSL3_RT_HEADER {
      if writing != 0 { state.pointee.recordsWritten &+= 1 } else { state.pointee.recordsRead &+= 1 }
    } else if contentType == SSL3_RT_ALERT, writing == 0, let buffer, length >= 2 {
      state.pointee.lastAlertReceived = Int16(buffer.load(fromByteOffset: 1, as: UInt8.self))
    }
  }

private func decodeHex(_ text: Substring) -> [UInt8]? {
  let digits = Array(text.utf8)
  guard digits.count % 2 == 0 else { return nil }
  func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case 48...57: return c - 48
    case 97...102: return c - 87
    case 65...70: return c - 55
    default: return nil
    }
  }
  var out: [UInt8] = []
  out.reserveCapacity(digits.count / 2)
  var i = 0
  while i < digits.count {
    guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else { return nil }
    out.append(hi << 4 | lo)
    i += 2
  }
  return out
}
