// Where pending challenges are answered: TLS-ALPN-01 certificates go to the
// DERP port's handshake table, HTTP-01 key authorizations to the plain-HTTP
// port's token table. Written by the ACME thread, read by the TLS handshake
// (C side) and the HTTP-01 responder thread.
import HDConfig
import HDTLS
import Synchronization

final class ACMEChallengeAnswers: Sendable {
  let tlsALPN: ACMEChallengeCertificates
  private let httpTokens = Mutex<[String: String]>([:])
  /// HTTP-01 requests answered with a key authorization.
  let httpAnswered = Atomic<UInt64>(0)

  init(tlsALPN: ACMEChallengeCertificates) { self.tlsALPN = tlsALPN }

  func provision(
    _ type: ACMEChallengeType, identifier: ACMEIdentifier, token: String, keyAuthorization: String
  ) throws(ACMECryptoError) {
    switch type {
    case .tlsALPN01: try tlsALPN.add(identifier: identifier, keyAuthorization: keyAuthorization)
    case .http01: httpTokens.withLock { $0[token] = keyAuthorization }
    }
  }

  func withdraw(_ type: ACMEChallengeType, identifier: ACMEIdentifier, token: String) {
    switch type {
    case .tlsALPN01: tlsALPN.remove(identifier: identifier)
    case .http01: _ = httpTokens.withLock { $0.removeValue(forKey: token) }
    }
  }

  /// The key authorization for an HTTP-01 token, nil when none is pending.
  func httpAnswer(token: String) -> String? { httpTokens.withLock { $0[token] } }
}
