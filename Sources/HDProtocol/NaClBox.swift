// NaCl box (X25519 + XSalsa20-Poly1305) through libsodium, in DERP's wire
// form: 24-byte random nonce followed by the box (16-byte tag ‖ ciphertext),
// which is exactly what crypto_box_easy produces after the nonce.
import CSodium

public enum NaClBox {
  /// Bytes a sealed message adds to its plaintext: nonce + Poly1305 tag.
  public static let overheadBytes = DERPConstants.nonceBytes + DERPConstants.boxOverheadBytes

  // MARK: Full X25519 per message (handshake: one seal/open per connection)

  /// Seals `message` from `sender` to `recipient` into `out`, which must hold
  /// `message.count + overheadBytes`. Returns the bytes written.
  @discardableResult
  public static func seal(
    _ message: UnsafeRawBufferPointer, to recipient: DERPKey, from sender: DERPPrivateKey,
    into out: UnsafeMutableRawPointer
  ) -> Int {
    Sodium.randomBytes(out, count: DERPConstants.nonceBytes)
    let rc = recipient.withUnsafeBytes { pk in
      sender.raw.withUnsafeBytes { sk in
        crypto_box_easy(
          (out + DERPConstants.nonceBytes).assumingMemoryBound(to: UInt8.self),
          message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyInput, UInt64(message.count),
          out.assumingMemoryBound(to: UInt8.self),
          pk.baseAddress!.assumingMemoryBound(to: UInt8.self), sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
      }
    }
    // crypto_box_easy fails only when the peer key is a low-order point; the
    // output is then still well-formed but useless, and the peer rejects it.
    _ = rc
    return message.count + overheadBytes
  }

  /// Convenience: seal into a new array.
  public static func seal(_ message: [UInt8], to recipient: DERPKey, from sender: DERPPrivateKey) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: message.count + overheadBytes) { out, count in
      count = message.withUnsafeBytes { seal($0, to: recipient, from: sender, into: out.baseAddress!) }
    }
  }

  /// Opens `sealed` (nonce ‖ box) from `sender` to `recipient`. Returns the
  /// plaintext, or nil if it is too short or fails authentication.
  public static func open(_ sealed: UnsafeRawBufferPointer, from sender: DERPKey, to recipient: DERPPrivateKey) -> [UInt8]? {
    guard sealed.count >= overheadBytes, let base = sealed.baseAddress else { return nil }
    let plainCount = sealed.count - overheadBytes
    var ok = false
    let plain = [UInt8](unsafeUninitializedCapacity: max(plainCount, 1)) { out, count in
      let rc = sender.withUnsafeBytes { pk in
        recipient.raw.withUnsafeBytes { sk in
          crypto_box_open_easy(
            out.baseAddress!,
            (base + DERPConstants.nonceBytes).assumingMemoryBound(to: UInt8.self),
            UInt64(sealed.count - DERPConstants.nonceBytes),
            base.assumingMemoryBound(to: UInt8.self),
            pk.baseAddress!.assumingMemoryBound(to: UInt8.self), sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
      }
      ok = rc == 0
      count = ok ? plainCount : 0
    }
    return ok ? plain : nil
  }

  // MARK: Precomputed shared key (many messages between the same pair)

  /// X25519 + HSalsa20 done once; `afternm` seals then cost ~0.3 µs instead of ~31 µs.
  public struct SharedKey: Sendable {
    var key: DERPKey

    public init(peer: DERPKey, own: DERPPrivateKey) {
      Sodium.ensureReady()
      var k = DERPKey.zero
      peer.withUnsafeBytes { pk in
        own.raw.withUnsafeBytes { sk in
          Swift.withUnsafeMutableBytes(of: &k) { kk in
            _ = crypto_box_beforenm(
              kk.baseAddress!.assumingMemoryBound(to: UInt8.self),
              pk.baseAddress!.assumingMemoryBound(to: UInt8.self), sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
          }
        }
      }
      key = k
    }

    /// Seals into `out` (capacity `message.count + overheadBytes`); returns bytes written.
    @discardableResult
    public func seal(_ message: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) -> Int {
      Sodium.randomBytes(out, count: DERPConstants.nonceBytes)
      key.withUnsafeBytes { k in
        _ = crypto_box_easy_afternm(
          (out + DERPConstants.nonceBytes).assumingMemoryBound(to: UInt8.self),
          message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? NaClBox.emptyInput, UInt64(message.count),
          out.assumingMemoryBound(to: UInt8.self), k.baseAddress!.assumingMemoryBound(to: UInt8.self))
      }
      return message.count + NaClBox.overheadBytes
    }

    /// Opens `sealed` into `out` (capacity `sealed.count - overheadBytes`);
    /// returns the plaintext length, or nil on bad length or failed authentication.
    public func open(_ sealed: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) -> Int? {
      guard sealed.count >= NaClBox.overheadBytes, let base = sealed.baseAddress else { return nil }
      let rc = key.withUnsafeBytes { k in
        crypto_box_open_easy_afternm(
          out.assumingMemoryBound(to: UInt8.self),
          (base + DERPConstants.nonceBytes).assumingMemoryBound(to: UInt8.self),
          UInt64(sealed.count - DERPConstants.nonceBytes), base.assumingMemoryBound(to: UInt8.self),
          k.baseAddress!.assumingMemoryBound(to: UInt8.self))
      }
      return rc == 0 ? sealed.count - NaClBox.overheadBytes : nil
    }
  }

  /// libsodium wants a non-null pointer even for an empty message.
  nonisolated(unsafe) static let emptyInput: UnsafePointer<UInt8> = {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UnsafePointer(p)
  }()
}
