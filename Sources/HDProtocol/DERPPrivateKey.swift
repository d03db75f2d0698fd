// Curve25519 private key and key pair generation through libsodium.
import CSodium

/// A clamped Curve25519 private key. Same inline storage as `DERPKey`; kept a
/// separate type so a private key is never sent where a public one belongs.
public struct DERPPrivateKey: Sendable, Equatable {
  public var raw: DERPKey

  /// Wraps 32 raw bytes and clamps them as Curve25519 requires
  /// (`b[0] &= 248; b[31] = (b[31] & 127) | 64`).
  public init(raw: DERPKey) {
    var key = raw
    Swift.withUnsafeMutableBytes(of: &key) { b in
      b[0] &= 248
      b[31] = (b[31] & 127) | 64
    }
    self.raw = key
  }

  /// The matching public key (X25519 base-point multiplication).
  public var publicKey: DERPKey {
    Sodium.ensureReady()
    var pub = DERPKey.zero
    raw.withUnsafeBytes { sk in
      Swift.withUnsafeMutableBytes(of: &pub) { pk in
        _ = crypto_scalarmult_base(
          pk.baseAddress!.assumingMemoryBound(to: UInt8.self),
          sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
      }
    }
    return pub
  }

  /// `privkey:<64 hex>`, Tailscale's text form.
  public var privateKeyText: String { "privkey:" + raw.hex }

  /// Parses `privkey:<64 hex>` (surrounding whitespace allowed).
  public init?(privateKeyText text: some StringProtocol) {
    let trimmed = text.trimmingASCIIWhitespace()
    guard trimmed.hasPrefix("privkey:"), let key = DERPKey(hex: trimmed.dropFirst("privkey:".count)) else {
      return nil
    }
    self.init(raw: key)
  }
}

/// A private key with its public key computed once.
public struct DERPKeyPair: Sendable, Equatable {
  public let privateKey: DERPPrivateKey
  public let publicKey: DERPKey

  public init(privateKey: DERPPrivateKey) {
    self.privateKey = privateKey
    self.publicKey = privateKey.publicKey
  }

  /// A fresh random key pair (libsodium `crypto_box_keypair`, which clamps).
  public static func generate() -> DERPKeyPair {
    Sodium.ensureReady()
    var pub = DERPKey.zero
    var sec = DERPKey.zero
    Swift.withUnsafeMutableBytes(of: &pub) { pk in
      Swift.withUnsafeMutableBytes(of: &sec) { sk in
        _ = crypto_box_keypair(
          pk.baseAddress!.assumingMemoryBound(to: UInt8.self),
          sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
      }
    }
    // crypto_box_keypair stores the unclamped seed; clamping gives the same
    // public key and the form Go writes to key files.
    return DERPKeyPair(privateKey: DERPPrivateKey(raw: sec))
  }
}

extension StringProtocol {
  func trimmingASCIIWhitespace() -> Substring {
    let s = Substring(self)
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
    guard let first = s.firstIndex(where: { !isSpace($0) }) else { return s[s.endIndex...] }
    let last = s.lastIndex(where: { !isSpace($0) })!
    return s[first...last]
  }
}
