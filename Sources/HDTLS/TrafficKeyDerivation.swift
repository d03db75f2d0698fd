// Derives the record keys of a finished handshake, because OpenSSL's own
// kernel TLS path needs a socket BIO and we drive memory BIOs:
// - TLS 1.3: key = HKDF-Expand-Label(traffic secret, "key", keylen),
//   iv = HKDF-Expand-Label(secret, "iv", 12) (RFC 8446 §7.3); the secrets come
//   from the keylog callback.
// - TLS 1.2: key block = PRF(master secret, "key expansion", server_random ‖
//   client_random), split client key, server key, client salt, server salt
//   (RFC 5246 §6.3, RFC 5288 §3; AEAD suites have no MAC keys).
// Sequence numbers: records counted since the handshake finished; TLS 1.2's
// Finished was record 0 under the new keys, so application data starts at 1.
internal import CTLS

/// Why a session's keys cannot go to the kernel.
public enum KernelTLSIneligibility: Error, Sendable, Equatable {
  case handshakeNotDone
  /// A suite the kernel cannot run (ChaCha20-Poly1305).
  case cipherNotOffloadable(String)
  /// Received ciphertext ends inside a record: the kernel would start mid-record.
  case inputNotAtRecordBoundary
  /// Handshake output not yet sent: it must leave before kernel TX encrypts.
  case outputPending
  case secretsMissing
  case derivationFailed
}

enum TrafficKeyDerivation {
  /// Derives both directions for `ssl`; `isServer` picks which side transmits.
  static func derive(
    ssl: OpaquePointer, state: UnsafeMutablePointer<SessionRecordState>, isServer: Bool
  ) -> Result<SessionTrafficKeys, KernelTLSIneligibility> {
    guard SSL_is_init_finished(ssl) == 1, let version = TLSVersion(openSSLNumber: SSL_version(ssl)),
      let cipherHandle = SSL_get_current_cipher(ssl)
    else { return .failure(.handshakeNotDone) }
    let cipher: TLSRecordCipher
    switch SSL_CIPHER_get_cipher_nid(cipherHandle) {
    case NID_aes_128_gcm: cipher = .aes128GCM
    case NID_aes_256_gcm: cipher = .aes256GCM
    default: return .failure(.cipherNotOffloadable(String(cString: SSL_CIPHER_get_name(cipherHandle))))
    }
    guard let digest = SSL_CIPHER_get_handshake_digest(cipherHandle) else { return .failure(.derivationFailed) }
    let written = state.pointee.recordsWritten &- state.pointee.recordsWrittenAtHandshakeDone
    let read = state.pointee.recordsRead &- state.pointee.recordsReadAtHandshakeDone

    switch version {
    case .tls13:
      let clientSecret = state.pointee.trafficSecret(client: true)
      let serverSecret = state.pointee.trafficSecret(client: false)
      guard !clientSecret.isEmpty, !serverSecret.isEmpty else { return .failure(.secretsMissing) }
      guard let client = tls13Key(secret: clientSecret, digest: digest, cipher: cipher),
        let server = tls13Key(secret: serverSecret, digest: digest, cipher: cipher)
      else { return .failure(.derivationFailed) }
      let ownKey = isServer ? server : client
      let peerKey = isServer ? client : server
      return .success(
        SessionTrafficKeys(
          version: .tls13, cipher: cipher,
          transmit: TrafficKey(key: ownKey.key, fixedIV: ownKey.iv, nextSequence: written),
          receive: TrafficKey(key: peerKey.key, fixedIV: peerKey.iv, nextSequence: read)))
    case .tls12:
      guard let block = tls12KeyBlock(ssl: ssl, digest: digest, bytes: 2 * cipher.keyBytes + 8) else {
        return .failure(.derivationFailed)
      }
      let k = cipher.keyBytes
      let client = (key: Array(block[0..<k]), salt: Array(block[2 * k..<2 * k + 4]))
      let server = (key: Array(block[k..<2 * k]), salt: Array(block[2 * k + 4..<2 * k + 8]))
      let own = isServer ? server : client
      let peer = isServer ? client : server
      return .success(
        SessionTrafficKeys(
          version: .tls12, cipher: cipher,
          transmit: TrafficKey(key: own.key, fixedIV: own.salt, nextSequence: 1 &+ written),
          receive: TrafficKey(key: peer.key, fixedIV: peer.salt, nextSequence: 1 &+ read)))
    }
  }

  private static func tls13Key(
    secret: [UInt8], digest: OpaquePointer, cipher: TLSRecordCipher
  ) -> (key: [UInt8], iv: [UInt8])? {
    guard let key = hkdfExpandLabel(secret: secret, label: "key", length: cipher.keyBytes, digest: digest),
      let iv = hkdfExpandLabel(secret: secret, label: "iv", length: 12, digest: digest)
    else { return nil }
    return (key, iv)
  }

  /// HKDF-Expand-Label(secret, label, "", length) of RFC 8446 §7.1, on the
  /// process's cached HKDF contexts (TLS 1.3 hashes are SHA-256 and SHA-384).
  static func hkdfExpandLabel(secret: [UInt8], label: String, length: Int, digest: OpaquePointer) -> [UInt8]? {
    let type = EVP_MD_get_type(digest)
    guard type == NID_sha256 || type == NID_sha384 else { return nil }
    var out = [UInt8](repeating: 0, count: length)
    let ok = ctls_hkdf_expand_label(type == NID_sha384 ? 1 : 0, secret, secret.count, label, &out, length)
    return ok == 1 ? out : nil
  }

  private static func tls12KeyBlock(ssl: OpaquePointer, digest: OpaquePointer, bytes: Int) -> [UInt8]? {
    guard let session = SSL_get_session(ssl) else { return nil }
    var master = [UInt8](repeating: 0, count: 48)
    let masterLength = SSL_SESSION_get_master_key(session, &master, master.count)
    defer { master = [UInt8](repeating: 0, count: 48) }
    var serverRandom = [UInt8](repeating: 0, count: 32)
    var clientRandom = [UInt8](repeating: 0, count: 32)
    guard masterLength == 48, SSL_get_server_random(ssl, &serverRandom, 32) == 32,
      SSL_get_client_random(ssl, &clientRandom, 32) == 32
    else { return nil }
    let seed = Array("key expansion".utf8) + serverRandom + clientRandom
    guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_TLS1_PRF, nil) else { return nil }
    defer { EVP_PKEY_CTX_free(ctx) }
    var out = [UInt8](repeating: 0, count: bytes)
    var outLength = bytes
    guard EVP_PKEY_derive_init(ctx) == 1,
      EVP_PKEY_CTX_set_tls1_prf_md(ctx, digest) == 1,
      EVP_PKEY_CTX_set1_tls1_prf_secret(ctx, master, Int32(masterLength)) == 1,
      EVP_PKEY_CTX_add1_tls1_prf_seed(ctx, seed, Int32(seed.count)) == 1,
      EVP_PKEY_derive(ctx, &out, &outLength) == 1, outLength == bytes
    else {
      ERR_clear_error()
      return nil
    }
    return out
  }
}
