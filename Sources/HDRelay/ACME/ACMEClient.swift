// The RFC 8555 conversation with a CA, one certificate at a time: directory,
// nonces, account (with External Account Binding when configured), order,
// authorizations and their challenges, finalize with a CSR, download the
// chain. Runs on the ACME thread only and blocks it (never a worker); every
// wait checks `stop` so the relay can shut down mid-order.
@preconcurrency import Glibc
import CURing
import HDConfig
import HDTLS

final class ACMEClient {
  struct ExternalAccountBinding {
    let keyID: String
    let macKey: [UInt8]
  }

  private struct Directory {
    let newNonce: String
    let newAccount: String
    let newOrder: String
    let externalAccountRequired: Bool
  }

  let directoryURL: String
  let jws: ACMEJWS
  private let http: HTTPClient
  private let contactEmail: String?
  private let binding: ExternalAccountBinding?
  private let stop: () -> Bool
  private let log: (String) -> Void
  private var directory: Directory?
  private var nonce: String?
  /// The account URL (`kid`): from the cache, or once registered.
  private(set) var accountURL: String?
  /// True while `accountURL` is the cached one the CA has not confirmed yet.
  private var accountURLFromCache: Bool
  /// Called with the URL of an account newAccount created or found, to persist it.
  private let accountRegistered: (String) -> Void

  /// RFC 8555 §7.3.1: the CA knows no account for this `kid`.
  static let accountDoesNotExist = "urn:ietf:params:acme:error:accountDoesNotExist"

  /// Each request's deadline; a CA that stalls longer is "unreachable" this round.
  static let requestTimeoutNanoseconds: UInt64 = 30_000_000_000
  /// How long one authorization or order may stay pending or processing.
  static let pollLimitNanoseconds: UInt64 = 120_000_000_000
  /// A PEM chain is a few KiB; this bounds what a CA's answer may cost us.
  static let bodyBytesMax = 256 * 1024

  init(
    directoryURL: String, trust: TLSTrust, jws: ACMEJWS, contactEmail: String?,
    binding: ExternalAccountBinding?, accountURL: String?, accountRegistered: @escaping (String) -> Void,
    stop: @escaping () -> Bool, log: @escaping (String) -> Void
  ) {
    self.directoryURL = directoryURL
    self.accountURL = accountURL
    self.accountURLFromCache = accountURL != nil
    self.accountRegistered = accountRegistered
    self.jws = jws
    self.http = HTTPClient(trust: trust, bodyBytesMax: Self.bodyBytesMax)
    self.contactEmail = contactEmail
    self.binding = binding
    self.stop = stop
    self.log = log
  }

  /// Runs one order for `identifiers` to the end; returns the PEM chain.
  func issue(
    identifiers: [ACMEIdentifier], certificateKey: ACMEKey, challengeTypes: [ACMEChallengeType],
    answers: ACMEChallengeAnswers
  ) throws(ACMEError) -> [UInt8] {
    let directory = try loadDirectory()
    let identifiersJSON = ACMEJSONText.array(
      identifiers.map {
        ACMEJSONText.object([("type", ACMEJSONText.string($0.type)), ("value", ACMEJSONText.string($0.value))])
      })
    let (account, created) = try placeOrder(directory, payload: ACMEJSONText.object([("identifiers", identifiersJSON)]))
    guard let orderURL = created.header("Location") else {
      throw ACMEError(.protocolViolation, "new order: the CA's answer has no Location")
    }
    var order = try ACMEObject(body: created.body, what: "new order")
    for authorization in order.strings("authorizations") {
      try authorize(authorization, account: account, challengeTypes: challengeTypes, answers: answers)
    }
    order = try poll(orderURL, what: "order", account: account, until: ["ready", "valid"])
    if order.string("status") == "ready" {
      let csr: [UInt8]
      do {
        csr = try ACMECrypto.certificateRequest(
          key: certificateKey, dnsNames: identifiers.filter { !$0.isIP }.map(\.value),
          ipAddresses: identifiers.filter(\.isIP).map(\.value))
      } catch {
        throw ACMEError(.local, error.description)
      }
      _ = try post(
        try order.require("finalize", "order"),
        payload: ACMEJSONText.object([("csr", ACMEJSONText.string(Base64URL.encode(csr)))]), what: "finalize",
        signer: .kid(account))
      order = try poll(orderURL, what: "order", account: account, until: ["valid"])
    }
    let certificateURL = try order.require("certificate", "order")
    let chain = try post(
      certificateURL, payload: nil, what: "certificate download", signer: .kid(account),
      accept: "application/pem-certificate-chain")
    return chain.body
  }

  // MARK: steps

  private func loadDirectory() throws(ACMEError) -> Directory {
    if let directory { return directory }
    let response = try send(HTTPClientRequest(method: "GET", url: try parse(directoryURL)), what: "directory")
    guard response.status == 200 else {
      throw ACMEError(.rejected, "directory \(directoryURL): HTTP \(response.status)")
    }
    let object = try ACMEObject(body: response.body, what: "directory")
    let loaded = Directory(
      newNonce: try object.require("newNonce", "directory"), newAccount: try object.require("newAccount", "directory"),
      newOrder: try object.require("newOrder", "directory"),
      externalAccountRequired: object.object("meta").map { meta in
        if case .bool(true)? = meta.fields.last(where: { $0.0 == "externalAccountRequired" })?.1 { return true }
        return false
      } ?? false)
    directory = loaded
    return loaded
  }

  /// newOrder with the account; a cached account URL the CA does not know
  /// (its database was reset, the account was deleted) is dropped and the
  /// account looked up again with newAccount, once.
  private func placeOrder(
    _ directory: Directory, payload: String
  ) throws(ACMEError) -> (account: String, response: HTTPClientResponse) {
    let account = try register(directory)
    do throws(ACMEError) {
      return (account, try post(directory.newOrder, payload: payload, what: "new order", signer: .kid(account)))
    } catch let error where accountURLFromCache && error.problemType == Self.accountDoesNotExist {
      log("ACME: the CA does not know the cached account \(account) (\(error.message)); registering again")
      accountURL = nil
      accountURLFromCache = false
      let registered = try register(directory)
      return (registered, try post(directory.newOrder, payload: payload, what: "new order", signer: .kid(registered)))
    }
  }

  private func register(_ directory: Directory) throws(ACMEError) -> String {
    if let accountURL { return accountURL }
    if directory.externalAccountRequired && binding == nil {
      throw ACMEError(
        .rejected,
        "the CA requires External Account Binding: set acme.eab_kid and acme.eab_hmac_key_file to the key it issued")
    }
    var members: [(String, String)] = [("termsOfServiceAgreed", "true")]
    if let contactEmail {
      members.append(("contact", ACMEJSONText.array([ACMEJSONText.string("mailto:" + contactEmail)])))
    }
    if let binding {
      do {
        members.append(
          ("externalAccountBinding",
            try jws.externalAccountBinding(keyID: binding.keyID, macKey: binding.macKey, newAccountURL: directory.newAccount)))
      } catch {
        throw ACMEError(.local, error.description)
      }
    }
    let response = try post(directory.newAccount, payload: ACMEJSONText.object(members), what: "account", signer: .jwk)
    guard let location = response.header("Location") else {
      throw ACMEError(.protocolViolation, "account: the CA's answer has no Location")
    }
    log("ACME account \(response.status == 201 ? "created" : "found"): \(location)")
    accountURL = location
    accountRegistered(location)
    return location
  }

  private func authorize(
    _ url: String, account: String, challengeTypes: [ACMEChallengeType], answers: ACMEChallengeAnswers
  ) throws(ACMEError) {
    let authorization = try ACMEObject(
      body: try post(url, payload: nil, what: "authorization", signer: .kid(account)).body, what: "authorization")
    guard let identifierObject = authorization.object("identifier"),
      let value = identifierObject.string("value")
    else { throw ACMEError(.protocolViolation, "authorization \(url): no identifier") }
    let identifier = identifierObject.string("type") == "ip" ? ACMEIdentifier.ip(value) : ACMEIdentifier.dns(value)
    let status = authorization.string("status") ?? "?"
    if status == "valid" { return }
    guard status == "pending" else {
      throw ACMEError(.challenge, "authorization for \(identifier) is \(status), not pending")
    }
    let offered = authorization.objects("challenges")
    var chosen: (ACMEChallengeType, ACMEObject)?
    for type in challengeTypes {
      if let challenge = offered.first(where: { $0.string("type") == type.rawValue }) {
        chosen = (type, challenge)
        break
      }
    }
    guard let (type, challenge) = chosen else {
      let names = offered.compactMap { $0.string("type") }.joined(separator: ", ")
      throw ACMEError(
        .challenge,
        "\(identifier): the CA offers none of the enabled challenges (offered: \(names); enabled: "
          + challengeTypes.map(\.rawValue).joined(separator: ", ") + ")")
    }
    let token = try challenge.require("token", "challenge")
    let challengeURL = try challenge.require("url", "challenge")
    do {
      try answers.provision(type, identifier: identifier, token: token, keyAuthorization: jws.keyAuthorization(token: token))
    } catch {
      throw ACMEError(.local, "\(type.rawValue) for \(identifier): \(error)")
    }
    defer { answers.withdraw(type, identifier: identifier, token: token) }
    log("ACME: answering \(type.rawValue) for \(identifier)")
    _ = try post(challengeURL, payload: "{}", what: "challenge \(type.rawValue) for \(identifier)", signer: .kid(account))
    let final = try poll(url, what: "authorization for \(identifier)", account: account, until: ["valid", "invalid"])
    guard final.string("status") == "valid" else {
      let failed = final.objects("challenges").first { $0.string("type") == type.rawValue }
      let problem = failed?.object("error")
      throw ACMEError(
        .challenge, "challenge \(type.rawValue) for \(identifier) failed: \(problem?.problemText ?? "no reason given")",
        problemType: problem?.string("type"))
    }
  }

  /// POST-as-GET `url` until its status is one of `until` (or a failure status).
  private func poll(_ url: String, what: String, account: String, until: Set<String>) throws(ACMEError) -> ACMEObject {
    let deadline = monotonicNanoseconds() + Self.pollLimitNanoseconds
    while true {
      let response = try post(url, payload: nil, what: what, signer: .kid(account))
      let object = try ACMEObject(body: response.body, what: what)
      let status = object.string("status") ?? "?"
      if until.contains(status) { return object }
      if status == "invalid" {
        let problem = object.object("error")
        throw ACMEError(
          .rejected, "\(what) is invalid: \(problem?.problemText ?? "no reason given")", problemType: problem?.string("type"))
      }
      guard monotonicNanoseconds() < deadline else {
        throw ACMEError(.unreachable, "\(what) still \(status) after \(Self.pollLimitNanoseconds / 1_000_000_000) s")
      }
      let retryAfter = response.header("Retry-After").flatMap { Int($0) }.map { min(max($0, 1), 10) } ?? 1
      try pause(seconds: retryAfter)
    }
  }

  // MARK: transport

  private func post(
    _ url: String, payload: String?, what: String, signer: ACMEJWS.Signer, accept: String? = nil
  ) throws(ACMEError) -> HTTPClientResponse {
    let target = try parse(url)
    var attempt = 0
    while true {
      attempt += 1
      let body: [UInt8]
      do {
        body = try jws.sign(payload: payload, url: url, nonce: try takeNonce(), signer: signer)
      } catch let error as ACMEError {
        throw error
      } catch {
        throw ACMEError(.local, "\(what): \(error)")
      }
      var headers: [(name: String, value: String)] = [("Content-Type", "application/jose+json")]
      if let accept { headers.append(("Accept", accept)) }
      let response = try send(HTTPClientRequest(method: "POST", url: target, headers: headers, body: body), what: what)
      guard response.status >= 400 else { return response }
      let problem = try? ACMEObject(body: response.body, what: what)
      let type = problem?.string("type")
      // A stale nonce is routine (RFC 8555 §6.5): retry with the fresh one the error carried.
      if type == "urn:ietf:params:acme:error:badNonce" && attempt < 3 { continue }
      throw ACMEError(
        .rejected, "\(what): \(problem?.problemText ?? "HTTP \(response.status)")", problemType: type)
    }
  }

  private func takeNonce() throws(ACMEError) -> String {
    if let nonce {
      self.nonce = nil
      return nonce
    }
    let directory = try loadDirectory()
    let response = try send(HTTPClientRequest(method: "HEAD", url: try parse(directory.newNonce)), what: "new nonce")
    guard let fresh = response.header("Replay-Nonce") else {
      throw ACMEError(.protocolViolation, "new nonce: HTTP \(response.status) without Replay-Nonce")
    }
    self.nonce = nil
    return fresh
  }

  private func send(_ request: HTTPClientRequest, what: String) throws(ACMEError) -> HTTPClientResponse {
    if stop() { throw ACMEError(.stopped, "\(what): the relay is stopping") }
    let deadline = monotonicNanoseconds() + Self.requestTimeoutNanoseconds
    switch http.send(request, deadlineNanoseconds: deadline, stop: stop) {
    case .success(let response):
      if let fresh = response.header("Replay-Nonce") { nonce = fresh }
      return response
    case .failure(.stopped):
      throw ACMEError(.stopped, "\(what): the relay is stopping")
    case .failure(let why):
      let reason = why == .timeout ? "no answer within \(Self.requestTimeoutNanoseconds / 1_000_000_000) s" : "\(why)"
      throw ACMEError(.unreachable, "\(what): cannot reach the CA at \(request.url.hostHeader) (\(reason))")
    }
  }

  private func parse(_ url: String) throws(ACMEError) -> HTTPURL {
    switch HTTPURL.parse(url) {
    case .success(let parsed): return parsed
    case .failure(let why): throw ACMEError(.protocolViolation, "the CA handed out a bad URL: \(why)")
    }
  }

  /// Sleeps `seconds`, waking every 100 ms to honour `stop`.
  private func pause(seconds: Int) throws(ACMEError) {
    for _ in 0..<(seconds * 10) {
      if stop() { throw ACMEError(.stopped, "the relay is stopping") }
      usleep(100_000)
    }
  }
}
