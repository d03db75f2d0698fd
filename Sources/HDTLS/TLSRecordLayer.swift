// The relay's own TLS record layer for an established AES-GCM session: what
// kernel TLS does, in the worker. OpenSSL runs the handshake; once the
// session's input ends on a record boundary and its output has been taken,
// the traffic keys (derived as for kernel TLS) move here and OpenSSL sees no
// more records. Records are opened in place in the receive buffer and sealed
// from the frames' own blocks into the send block (CTLS/record_cipher.c), so
// a relayed byte is copied once in user space instead of five times.
//
// Post-handshake messages: TLS 1.3 KeyUpdate is followed (RFC 8446 §4.6.3:
// the receive key moves on at once; a requested update is answered under
// the old transmit key, then the transmit key moves on); close_notify and
// other alerts end the connection; anything else (TLS 1.2 renegotiation, a
// stray handshake message) is a protocol error, as OpenSSL with
// SSL_OP_NO_RENEGOTIATION would make it.
internal import CTLS

/// What one received record held.
public enum TLSRecordContent: Equatable, Sendable {
  /// Application data at this offset from the record's first byte (may be empty).
  case data(offset: Int, count: Int)
  case closeNotify
  /// Any other alert (its description byte): the peer is ending the connection.
  case alert(UInt8)
  /// A TLS 1.3 KeyUpdate: the receive key has moved on; `requested` asks us to move ours.
  case keyUpdate(requested: Bool)
  case failed(TLSFailureReason)
}

/// Both directions of an established session. Lives in one heap block per
/// connection (`make`, `free`); nothing here allocates per record.
public struct TLSRecordLayer {
  public static let headerBytes = 5
  /// Largest record body a peer may send (2^14 + 256, RFC 8446 §5.2).
  public static let maxRecordBodyBytes = RecordFraming.maxRecordBodyBytes
  /// Largest plaintext one record carries.
  public static let maxPlaintextBytes = 16_384

  var transmit = ctls_record_cipher()
  var receive = ctls_record_cipher()
  public let version: TLSVersion
  let keyBytes: Int
  /// TLS 1.3 traffic secrets, for KeyUpdate (SHA-256 or SHA-384 length).
  var transmitSecret = InlineArray<48, UInt8>(repeating: 0)
  var receiveSecret = InlineArray<48, UInt8>(repeating: 0)
  let secretBytes: Int

  /// Takes over `session`'s records. Fails (the session carries on in
  /// OpenSSL) when the cipher is not AES-GCM, the input is not at a record
  /// boundary or output is still pending: the same conditions as kernel TLS.
  /// After success do no more record I/O through the session.
  public static func make(from session: TLSServerSession) -> Result<UnsafeMutablePointer<TLSRecordLayer>, KernelTLSIneligibility> {
    let keys: SessionTrafficKeys
    switch session.kernelKeys() {
    case .success(let k): keys = k
    case .failure(let why): return .failure(why)
    }
    let tls13 = keys.version == .tls13
    let transmitSecret = tls13 ? session.state.pointee.trafficSecret(client: false) : []
    let receiveSecret = tls13 ? session.state.pointee.trafficSecret(client: true) : []
    guard let layer = make(keys: keys, transmitSecret: transmitSecret, receiveSecret: receiveSecret) else {
      return .failure(.derivationFailed)
    }
    return .success(layer)
  }

  /// A layer from explicit keys: the one construction path, for sessions
  /// (`make(from:)`) and for the fuzz target, which pairs two layers. TLS 1.3
  /// needs both directions' current traffic secrets (32 or 48 bytes, the
  /// suite's hash length) for KeyUpdate; TLS 1.2 takes none. Nil when a key,
  /// IV or secret has the wrong length or the cipher cannot be keyed.
  package static func make(keys: SessionTrafficKeys, transmitSecret: [UInt8], receiveSecret: [UInt8]) -> UnsafeMutablePointer<TLSRecordLayer>? {
    let secretBytes = transmitSecret.count
    if keys.version == .tls13 {
      guard secretBytes == 32 || secretBytes == 48, receiveSecret.count == secretBytes else { return nil }
    } else {
      guard secretBytes == 0, receiveSecret.isEmpty else { return nil }
    }
    let layer = UnsafeMutablePointer<TLSRecordLayer>.allocate(capacity: 1)
    layer.initialize(to: TLSRecordLayer(version: keys.version, keyBytes: keys.cipher.keyBytes, secretBytes: secretBytes))
    for i in 0..<secretBytes {
      layer.pointee.transmitSecret[i] = transmitSecret[i]
      layer.pointee.receiveSecret[i] = receiveSecret[i]
    }
    guard layer.pointee.install(keys.transmit, encrypt: true), layer.pointee.install(keys.receive, encrypt: false) else {
      free(layer)
      return nil
    }
    return layer
  }

  private init(version: TLSVersion, keyBytes: Int, secretBytes: Int) {
    self.version = version
    self.keyBytes = keyBytes
    self.secretBytes = secretBytes
  }

  /// Frees the cipher contexts and wipes the secrets.
  public static func free(_ layer: UnsafeMutablePointer<TLSRecordLayer>) {
    ctls_record_cipher_free(&layer.pointee.transmit)
    ctls_record_cipher_free(&layer.pointee.receive)
    layer.pointee.transmitSecret = InlineArray(repeating: 0)
    layer.pointee.receiveSecret = InlineArray(repeating: 0)
    layer.deinitialize(count: 1)
    layer.deallocate()
  }

  private mutating func install(_ key: TrafficKey, encrypt: Bool) -> Bool {
    let tls13: Int32 = version == .tls13 ? 1 : 0
    return key.key.withUnsafeBufferPointer { k in
      key.fixedIV.withUnsafeBufferPointer { iv in
        if encrypt {
          return ctls_record_cipher_init(&transmit, 1, tls13, k.baseAddress, k.count, iv.baseAddress, iv.count, key.nextSequence) == 1
        }
        return ctls_record_cipher_init(&receive, 0, tls13, k.baseAddress, k.count, iv.baseAddress, iv.count, key.nextSequence) == 1
      }
    }
  }

  // MARK: receiving

  /// Body length announced by the header at `bytes` (5 bytes available), or
  /// nil when it is over the limit or not a record the session can take.
  public static func bodyLength(header bytes: UnsafeRawPointer) -> Int? {
    let type = bytes.load(as: UInt8.self)
    let length = Int(bytes.load(fromByteOffset: 3, as: UInt8.self)) << 8 | Int(bytes.load(fromByteOffset: 4, as: UInt8.self))
    guard (20...24).contains(type), bytes.load(fromByteOffset: 1, as: UInt8.self) == 3, length <= maxRecordBodyBytes else {
      return nil
    }
    return length
  }

  /// Opens the whole record at `record` (header + body, `length` bytes) in place.
  public mutating func open(_ record: UnsafeMutableRawPointer, length: Int) -> TLSRecordContent {
    // bodyLength allows the ciphertext limit (2^14 + 256); the plaintext must
    // still fit 2^14 bytes (TLS 1.3: 2^14 + 1 with the inner type byte and
    // padding), RFC 8446 §5.2/§5.4, RFC 5246 §6.2.3, as OpenSSL checks it.
    let innerPlaintextBytes = length - overheadBytes + (version == .tls13 ? 1 : 0)
    guard innerPlaintextBytes <= Self.maxPlaintextBytes + (version == .tls13 ? 1 : 0) else { return .failed(.recordOverflow) }
    var offset = 0
    var type: UInt8 = 0
    let n = ctls_record_open(&receive, record.assumingMemoryBound(to: UInt8.self), length, &offset, &type)
    guard n >= 0 else { return .failed(.badRecordMAC) }
    let plaintext = record + offset
    switch type {
    case 23:
      return .data(offset: offset, count: n)
    case 21:
      guard n == 2 else { return .failed(.protocolError) }
      let description = plaintext.load(fromByteOffset: 1, as: UInt8.self)
      return description == 0 ? .closeNotify : .alert(description)
    case 22 where version == .tls13:
      // KeyUpdate: type 24, length 1, update_requested; alone and at the end
      // of its record (handshake messages must not span a key change).
      guard n == 5, plaintext.load(as: UInt8.self) == 24, plaintext.load(fromByteOffset: 1, as: UInt8.self) == 0,
        plaintext.load(fromByteOffset: 2, as: UInt8.self) == 0, plaintext.load(fromByteOffset: 3, as: UInt8.self) == 1
      else { return .failed(.protocolError) }
      let request = plaintext.load(fromByteOffset: 4, as: UInt8.self)
      guard request <= 1 else { return .failed(.protocolError) }
      guard nextKey(transmitting: false) else { return .failed(.internalError) }
      return .keyUpdate(requested: request == 1)
    default:
      // TLS 1.2 renegotiation, ChangeCipherSpec, heartbeat…: not after the handshake.
      return .failed(.protocolError)
    }
  }

  // MARK: sending

  /// Bytes a record adds to its plaintext.
  public var overheadBytes: Int { Self.headerBytes + 16 + (version == .tls13 ? 1 : 8) }

  /// Starts an application-data record of `plaintextBytes` (≤ 16 KiB) at
  /// `out`; returns where its plaintext goes (bytes after `out`). Feed
  /// exactly that much with `seal(to:from:count:)`, then `finishRecord`.
  public mutating func beginRecord(at out: UnsafeMutableRawPointer, plaintextBytes: Int, type: UInt8 = 23) -> Int {
    ctls_record_seal_begin(&transmit, out.assumingMemoryBound(to: UInt8.self), plaintextBytes, type)
  }

  /// Encrypts `count` plaintext bytes from `source` to `out`.
  @inline(__always)
  public mutating func seal(to out: UnsafeMutableRawPointer, from source: UnsafeRawPointer, count: Int) {
    ctls_record_seal_update(&transmit, out.assumingMemoryBound(to: UInt8.self), source.assumingMemoryBound(to: UInt8.self), count)
  }

  /// Ends the record; returns the bytes written at `out` (type byte, tag).
  public mutating func finishRecord(at out: UnsafeMutableRawPointer, type: UInt8 = 23) -> Int {
    ctls_record_seal_finish(&transmit, out.assumingMemoryBound(to: UInt8.self), type)
  }

  /// A whole record of `type` carrying `bytes` at `out`; returns its length.
  private mutating func sealWhole(_ bytes: UnsafeRawBufferPointer, type: UInt8, at out: UnsafeMutableRawPointer) -> Int {
    var used = beginRecord(at: out, plaintextBytes: bytes.count, type: type)
    seal(to: out + used, from: bytes.baseAddress!, count: bytes.count)
    used += bytes.count
    return used + finishRecord(at: out + used, type: type)
  }

  /// TLS 1.3 AES-GCM keys should protect at most 2^24.5 records (RFC 8446
  /// §5.5): past 2^24 records (~270 GB in full records) we move ours on.
  public var transmitKeyWornOut: Bool { version == .tls13 && transmit.seq >= 1 << 24 }

  /// A KeyUpdate under the current transmit key, after which the transmit
  /// key moves on. The relay only answers (update_not_requested); asking the
  /// peer (`requestingPeerUpdate`) is for the fuzz target's client side.
  /// Returns the record's length (0 if the next key could not be derived:
  /// the connection must close).
  public mutating func sealKeyUpdate(at out: UnsafeMutableRawPointer, requestingPeerUpdate: Bool = false) -> Int {
    let message: (UInt8, UInt8, UInt8, UInt8, UInt8) = (24, 0, 0, 1, requestingPeerUpdate ? 1 : 0)
    let n = withUnsafeBytes(of: message) { sealWhole($0, type: 22, at: out) }
    return nextKey(transmitting: true) ? n : 0
  }

  /// A warning-level close_notify (0) or fatal alert record; returns its length.
  public mutating func sealAlert(_ description: UInt8, at out: UnsafeMutableRawPointer) -> Int {
    let alert: (UInt8, UInt8) = (description == 0 ? 1 : 2, description)
    return withUnsafeBytes(of: alert) { sealWhole($0, type: 21, at: out) }
  }

  // MARK: KeyUpdate

  /// application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length),
  /// then that direction's key and IV from it, sequence back to 0.
  private mutating func nextKey(transmitting: Bool) -> Bool {
    guard version == .tls13, secretBytes == 32 || secretBytes == 48,
      let digest = secretBytes == 32 ? EVP_sha256() : EVP_sha384()
    else { return false }
    let source = transmitting ? transmitSecret : receiveSecret
    let secret = (0..<secretBytes).map { source[$0] }
    guard let next = TrafficKeyDerivation.hkdfExpandLabel(secret: secret, label: "traffic upd", length: secretBytes, digest: digest),
      let key = TrafficKeyDerivation.hkdfExpandLabel(secret: next, label: "key", length: keyBytes, digest: digest),
      let iv = TrafficKeyDerivation.hkdfExpandLabel(secret: next, label: "iv", length: 12, digest: digest)
    else { return false }
    for i in 0..<secretBytes {
      if transmitting { transmitSecret[i] = next[i] } else { receiveSecret[i] = next[i] }
    }
    return install(TrafficKey(key: key, fixedIV: iv, nextSequence: 0), encrypt: transmitting)
  }
}
