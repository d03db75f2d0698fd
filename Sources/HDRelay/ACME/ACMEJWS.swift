// JSON Web Signatures as ACME sends them (RFC 8555 §6.2): flattened JSON,
// ES256 with the account key, identified by its JWK (new account) or its
// account URL (`kid`, everything after); and the HS256 External Account
// Binding (§7.3.4) that ties a new account to the CA's key identifier.
import HDConfig
import HDTLS

struct ACMEJWS {
  let accountKey: ACMEKey
  /// The account key as a JWK, members in the order RFC 7638 hashes them.
  let jwk: String

  init(accountKey: ACMEKey) throws(ACMECryptoError) {
    self.accountKey = accountKey
    let (x, y) = try accountKey.publicCoordinates()
    jwk = ACMEJSONText.object([
      ("crv", ACMEJSONText.string("P-256")), ("kty", ACMEJSONText.string("EC")),
      ("x", ACMEJSONText.string(Base64URL.encode(x))), ("y", ACMEJSONText.string(Base64URL.encode(y))),
    ])
  }

  /// RFC 7638 thumbprint: base64url(SHA-256(canonical JWK)).
  var thumbprint: String { Base64URL.encode(ACMECrypto.sha256(Array(jwk.utf8))) }

  /// The key authorization for a challenge token (RFC 8555 §8.1).
  func keyAuthorization(token: String) -> String { token + "." + thumbprint }

  /// Who signs: the bare key (newAccount) or the account URL.
  enum Signer {
    case jwk
    case kid(String)
  }

  /// A signed request body. `payload` nil = POST-as-GET (empty payload).
  func sign(payload: String?, url: String, nonce: String, signer: Signer) throws(ACMECryptoError) -> [UInt8] {
    var header: [(String, String)] = [("alg", ACMEJSONText.string("ES256"))]
    switch signer {
    case .jwk: header.append(("jwk", jwk))
    case .kid(let account): header.append(("kid", ACMEJSONText.string(account)))
    }
    header += [("nonce", ACMEJSONText.string(nonce)), ("url", ACMEJSONText.string(url))]
    let protected = Base64URL.encode(ACMEJSONText.object(header))
    let encodedPayload = payload.map { Base64URL.encode($0) } ?? ""
    let signature = try accountKey.signES256(Array((protected + "." + encodedPayload).utf8))
    return Array(Self.flattened(protected: protected, payload: encodedPayload, signature: signature).utf8)
  }

  /// The `externalAccountBinding` member of a newAccount payload: the account
  /// JWK signed with the CA-issued MAC key (no nonce, RFC 8555 §7.3.4).
  func externalAccountBinding(keyID: String, macKey: [UInt8], newAccountURL: String) throws(ACMECryptoError) -> String {
    let protected = Base64URL.encode(
      ACMEJSONText.object([
        ("alg", ACMEJSONText.string("HS256")), ("kid", ACMEJSONText.string(keyID)),
        ("url", ACMEJSONText.string(newAccountURL)),
      ]))
    let payload = Base64URL.encode(jwk)
    let mac = try ACMECrypto.hmacSHA256(key: macKey, Array((protected + "." + payload).utf8))
    return Self.flattened(protected: protected, payload: payload, signature: mac)
  }

  private static func flattened(protected: String, payload: String, signature: [UInt8]) -> String {
    ACMEJSONText.object([
      ("protected", ACMEJSONText.string(protected)), ("payload", ACMEJSONText.string(payload)),
      ("signature", ACMEJSONText.string(Base64URL.encode(signature))),
    ])
  }
}
