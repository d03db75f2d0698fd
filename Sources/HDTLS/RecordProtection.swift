// AES-GCM record protection done by hand, exactly as kernel TLS does it. Used
// to check derived keys against records OpenSSL produced, and by test clients
// to send a record OpenSSL would not (an alert mid-stream). Allocates: not for
// the data plane.
internal import CTLS

/// Seals and opens TLS 1.2/1.3 AES-GCM records with one direction's key.
public struct RecordProtection {
  public let version: TLSVersion
  public let cipher: TLSRecordCipher
  public private(set) var key: TrafficKey

  static let tagBytes = 16
  static let explicitNonceBytes = 8  // TLS 1.2 GCM

  public init(version: TLSVersion, cipher: TLSRecordCipher, key: TrafficKey) {
    self.version = version
    self.cipher = cipher
    self.key = key
  }

  /// One whole record (header included) carrying `plaintext` of content `type`.
  public mutating func seal(type: UInt8, plaintext: [UInt8]) -> [UInt8]? {
    let sequence = key.nextSequence
    let record: [UInt8]?
    switch version {
    case .tls13:
      let inner = plaintext + [type]
      let header = Self.header(type: 23, length: inner.count + Self.tagBytes)
      record = aesGCM(encrypt: true, nonce: nonce13(sequence), aad: header, input: inner, tag: nil)
        .map { header + $0.output + $0.tag }
    case .tls12:
      let explicitNonce = sequence.bigEndianBytes
      let aad = sequence.bigEndianBytes + [type, 3, 3, UInt8(plaintext.count >> 8), UInt8(plaintext.count & 0xff)]
      let header = Self.header(type: type, length: Self.explicitNonceBytes + plaintext.count + Self.tagBytes)
      record = aesGCM(encrypt: true, nonce: key.fixedIV + explicitNonce, aad: aad, input: plaintext, tag: nil)
        .map { header + explicitNonce + $0.output + $0.tag }
    }
    if record != nil { key.nextSequence &+= 1 }
    return record
  }

  /// Opens one whole record; nil when it does not authenticate.
  public mutating func open(record: [UInt8]) -> (type: UInt8, plaintext: [UInt8])? {
    guard record.count >= 5 + Self.tagBytes else { return nil }
    let header = Array(record[0..<5])
    let body = Array(record[5...])
    let sequence = key.nextSequence
    var result: (type: UInt8, plaintext: [UInt8])?
    switch version {
    case .tls13:
      let ciphertext = Array(body.dropLast(Self.tagBytes))
      let tag = Array(body.suffix(Self.tagBytes))
      guard let inner = aesGCM(encrypt: false, nonce: nonce13(sequence), aad: header, input: ciphertext, tag: tag),
        let typeIndex = inner.output.lastIndex(where: { $0 != 0 })
      else { return nil }
      result = (inner.output[typeIndex], Array(inner.output[..<typeIndex]))
    case .tls12:
      guard body.count >= Self.explicitNonceBytes + Self.tagBytes else { return nil }
      let explicitNonce = Array(body[0..<Self.explicitNonceBytes])
      let ciphertext = Array(body[Self.explicitNonceBytes..<(body.count - Self.tagBytes)])
      let tag = Array(body.suffix(Self.tagBytes))
      let aad =
        sequence.bigEndianBytes + [header[0], 3, 3, UInt8(ciphertext.count >> 8), UInt8(ciphertext.count & 0xff)]
      guard let plain = aesGCM(encrypt: false, nonce: key.fixedIV + explicitNonce, aad: aad, input: ciphertext, tag: tag)
      else { return nil }
      result = (header[0], plain.output)
    }
    key.nextSequence &+= 1
    return result
  }

  private static func header(type: UInt8, length: Int) -> [UInt8] {
    [type, 3, 3, UInt8(length >> 8), UInt8(length & 0xff)]
  }

  /// TLS 1.3 per-record nonce: the write IV XOR the 64-bit sequence, right-aligned.
  private func nonce13(_ sequence: UInt64) -> [UInt8] {
    var nonce = key.fixedIV
    for (i, byte) in sequence.bigEndianBytes.enumerated() { nonce[4 + i] ^= byte }
    return nonce
  }

  private func aesGCM(
    encrypt: Bool, nonce: [UInt8], aad: [UInt8], input: [UInt8], tag: [UInt8]?
  ) -> (output: [UInt8], tag: [UInt8])? {
    guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
    defer { EVP_CIPHER_CTX_free(ctx) }
    let algorithm = cipher == .aes128GCM ? EVP_aes_128_gcm() : EVP_aes_256_gcm()
    var output = [UInt8](repeating: 0, count: input.count + 16)
    var tagOut = tag ?? [UInt8](repeating: 0, count: Self.tagBytes)
    var n: Int32 = 0
    var finalScratch = [UInt8](repeating: 0, count: 16)  // GCM's Final writes no bytes
    let ok: Bool
    if encrypt {
      ok =
        EVP_EncryptInit_ex(ctx, algorithm, nil, key.key, nonce) == 1
        && EVP_EncryptUpdate(ctx, nil, &n, aad, Int32(aad.count)) == 1
        && EVP_EncryptUpdate(ctx, &output, &n, input, Int32(input.count)) == 1
        && EVP_EncryptFinal_ex(ctx, &finalScratch, &n) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagBytes), &tagOut) == 1
    } else {
      ok =
        EVP_DecryptInit_ex(ctx, algorithm, nil, key.key, nonce) == 1
        && EVP_DecryptUpdate(ctx, nil, &n, aad, Int32(aad.count)) == 1
        && EVP_DecryptUpdate(ctx, &output, &n, input, Int32(input.count)) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagBytes), &tagOut) == 1
        && EVP_DecryptFinal_ex(ctx, &finalScratch, &n) == 1
    }
    ERR_clear_error()
    guard ok else { return nil }
    return (Array(output.prefix(input.count)), tagOut)
  }
}
