// Keeps the DERP port's certificate current by ACME, on its own thread (off
// the data plane). At start it serves a usable cached certificate at once;
// otherwise the port answers only TLS-ALPN-01 until the first order succeeds.
// Renewal starts at two thirds of the certificate's lifetime, minus up to a
// fifteenth of it at random so a fleet does not renew in step. A failed order
// keeps the certificate in service, is logged (names and the CA's error),
// counted, shown in /health, and retried with exponential backoff.
@preconcurrency import Glibc
import HDConfig
import HDTLS
import Synchronization

public final class ACMEManager: @unchecked Sendable {
  let identifiers: [ACMEIdentifier]
  private let challengeTypes: [ACMEChallengeType]
  private let cache: ACMECache
  let answers: ACMEChallengeAnswers
  private let client: ACMEClient
  private let log: Logger
  private let status = Mutex(ACMEStatus())
  private let stopSignal = ACMEStopSignal()
  private var thread: pthread_t?
  private var tls: RelayTLS?
  private var httpResponder: ACMEHTTPResponder?
  private let httpPort: Int
  private let bindAddresses: [String]
  /// Certificate paths when a usable certificate was cached at start.
  public let cachedCertificate: (certificatePath: String, keyPath: String)?

  /// First retry after a CA that could not be reached (no rate limit is spent).
  static let unreachableRetrySeconds: Double = 2
  /// First retry after the CA refused or a challenge failed: CAs limit failed
  /// validations (Let's Encrypt: 5 per hour per name), so wait longer.
  static let rejectedRetrySeconds: Double = 30
  static let retrySecondsMax: Double = 3600

  /// Reads the cache (creating the directory and the account key) and
  /// decides what the DERP port serves at start. Throws only for local
  /// problems the operator must fix (cache directory, EAB key file).
  public init(config: Config, logSink: LogSink) throws(RelayError) {
    let acme = config.acme
    log = Logger(label: "acme", sink: logSink)
    identifiers = acme.domains.map(ACMEIdentifier.dns) + acme.ipAddresses.map(ACMEIdentifier.ip)
    challengeTypes = acme.usableChallenges
    httpPort = acme.httpPort
    bindAddresses = config.bind
    cache = ACMECache(directory: acme.cacheDir)
    let log = self.log
    do {
      try cache.prepare()
      let accountKey = try cache.accountKey(log: { log.warning($0) })
      answers = ACMEChallengeAnswers(tlsALPN: try ACMEChallengeCertificates())
      var binding: ACMEClient.ExternalAccountBinding?
      if let kid = acme.eabKid, let path = acme.eabHMACKeyFile {
        guard case .success(let bytes) = FileAccess.readBytes(path, limitBytes: 4096),
          let mac = Base64URL.decode(String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }),
          mac.count >= 16
        else { throw ACMEError(.local, "acme.eab_hmac_key_file \(path): no base64url HMAC key in it") }
        binding = ACMEClient.ExternalAccountBinding(keyID: kid, macKey: mac)
      }
      let stopSignal = self.stopSignal
      let cache = self.cache
      let directoryURL = acme.directoryURL
      let accountURL = cache.accountURL(directoryURL: directoryURL)
      if let accountURL { log.info("ACME: account from the cache: \(accountURL)") }
      client = ACMEClient(
        directoryURL: directoryURL,
        trust: .outbound(caFile: acme.directoryCAFile, setting: "acme.directory_ca_file"),
        jws: try ACMEJWS(accountKey: accountKey), contactEmail: acme.email, binding: binding,
        accountURL: accountURL,
        accountRegistered: { url in
          do throws(ACMEError) {
            try cache.storeAccountURL(url, directoryURL: directoryURL)
          } catch {
            log.warning("\(error.message); the next start asks the CA for the account again")
          }
        },
        stop: { stopSignal.isSet }, log: { log.info($0) })
    } catch let error as ACMEError {
      throw RelayError("ACME: \(error.message)")
    } catch {
      throw RelayError("ACME: \(error)")
    }
    let names = identifiers.map(\.value).joined(separator: ", ")
    var initial = ACMEStatus()
    initial.identifiers = identifiers.map(\.value)
    switch cache.certificate(identifiers: identifiers, nowSeconds: Self.nowSeconds()) {
    case .usable(let facts):
      cachedCertificate = (cache.certificatePath, cache.certificateKeyPath)
      initial.serving = true
      initial.certificateSerialHex = facts.serialHex
      initial.certificateNotAfterSeconds = facts.notAfterSeconds
      initial.nextAttemptSeconds = Self.renewalSeconds(facts)
      log.info(
        "ACME: serving the cached certificate for \(names) (serial \(facts.serialHex), valid until "
          + "\(UTCDate.formatTimestamp(facts.notAfterSeconds))); renewal from \(UTCDate.formatTimestamp(initial.nextAttemptSeconds!))")
    case .missing:
      cachedCertificate = nil
      log.warning(
        "ACME: no certificate cached yet for \(names): the DERP port cannot serve TLS to clients until "
          + "\(acme.directoryURL) issues one (ordering now)")
    case .rejected(let why):
      cachedCertificate = nil
      initial.cacheRejectedTotal = 1
      log.error(
        "ACME: cached certificate rejected, not served: \(why); the DERP port cannot serve TLS to clients until a "
          + "new one is issued (ordering now)")
    }
    status.withLock { $0 = initial }
  }

  /// The TLS-ALPN-01 table the DERP port's TLS context must answer from.
  public var challengeCertificates: ACMEChallengeCertificates { answers.tlsALPN }

  /// Starts the HTTP-01 port (when configured) and the ACME thread, which
  /// installs certificates into `tls`. Call once the DERP port listens.
  public func start(tls: RelayTLS) throws(RelayError) {
    self.tls = tls
    if httpPort != 0 {
      let responder = try ACMEHTTPResponder(
        port: httpPort, bind: bindAddresses, answers: answers, redirectHost: identifiers.first?.value ?? "",
        log: log)
      try responder.start()
      httpResponder = responder
    }
    switch PlainThread.start(name: "hd-acme", { self.run() }) {
    case .success(let t): thread = t
    case .failure(let why):
      httpResponder?.stop()
      throw RelayError.system("pthread_create for the ACME thread", errno: why.errno)
    }
  }

  /// Stops the thread (an order in flight is abandoned within a poll slice) and the HTTP-01 port.
  public func stop() {
    stopSignal.set()
    if let thread { pthread_join(thread, nil) }
    thread = nil
    httpResponder?.stop()
    httpResponder = nil
  }

  /// A snapshot for /health and /metrics.
  public func statusSnapshot() -> ACMEStatus {
    var snapshot = status.withLock { $0 }
    snapshot.tlsALPNAnswered = answers.tlsALPN.answeredCount
    snapshot.http01Answered = answers.httpAnswered.load(ordering: .relaxed)
    return snapshot
  }

  // MARK: the thread

  private var stopping: Bool { stopSignal.isSet }

  private func run() {
    var nextAttempt = status.withLock { $0.serving ? ($0.nextAttemptSeconds ?? 0) : 0 }
    while !stopping {
      if Self.nowSeconds() >= nextAttempt {
        nextAttempt = attempt()
      }
      usleep(100_000)  // a stop request is noticed within 100 ms
    }
  }

  /// One order; returns when the next one is due.
  private func attempt() -> Int64 {
    let names = identifiers.map(\.value).joined(separator: ", ")
    do throws(ACMEError) {
      let key: ACMEKey
      do {
        key = try ACMEKey.generate()
      } catch {
        throw ACMEError(.local, error.description)
      }
      let chain = try client.issue(
        identifiers: identifiers, certificateKey: key, challengeTypes: challengeTypes, answers: answers)
      let facts: ACMECertificateFacts
      switch ACMECertificateFacts.inspect(chainPEM: chain, key: key, identifiers: identifiers) {
      case .success(let checked): facts = checked
      case .failure(let problem): throw ACMEError(.protocolViolation, "the issued certificate is unusable: \(problem)")
      }
      try cache.store(chain: chain, key: key)
      do {
        try tls?.installCertificate(certificatePath: cache.certificatePath, keyPath: cache.certificateKeyPath)
      } catch {
        throw ACMEError(.local, error.description)
      }
      let renewal = Self.renewalSeconds(facts)
      status.withLock {
        $0.serving = true
        $0.certificateSerialHex = facts.serialHex
        $0.certificateNotAfterSeconds = facts.notAfterSeconds
        $0.nextAttemptSeconds = renewal
        $0.consecutiveFailures = 0
        $0.lastError = nil
        $0.lastErrorSeconds = nil
        $0.issuedTotal += 1
      }
      log.info(
        "ACME: certificate for \(names) issued and installed (serial \(facts.serialHex), valid until "
          + "\(UTCDate.formatTimestamp(facts.notAfterSeconds))); renewal from \(UTCDate.formatTimestamp(renewal))")
      return renewal
    } catch {
      if error.kind == .stopped { return Int64.max }
      return recordFailure(error, names: names)
    }
  }

  private func recordFailure(_ error: ACMEError, names: String) -> Int64 {
    let now = Self.nowSeconds()
    let (failures, serving, notAfter) = status.withLock { s in
      s.consecutiveFailures += 1
      s.lastError = error.message
      s.lastErrorSeconds = now
      s.failuresTotal[error.kind.rawValue, default: 0] += 1
      return (s.consecutiveFailures, s.serving, s.certificateNotAfterSeconds)
    }
    let first = error.kind == .unreachable ? Self.unreachableRetrySeconds : Self.rejectedRetrySeconds
    let delay = min(first * Double(1 << min(failures - 1, 20)), Self.retrySecondsMax)
    let jittered = delay * Double.random(in: 0.9...1.1)
    let next = now + Int64(jittered.rounded(.up))
    status.withLock { $0.nextAttemptSeconds = next }
    let keeping =
      serving
      ? "keeping the current certificate (valid until \(UTCDate.formatTimestamp(notAfter ?? 0)))"
      : "the DERP port still has no certificate and cannot serve TLS to clients"
    log.error(
      "ACME: order for \(names) failed (\(error.kind.rawValue)): \(error.message); \(keeping); "
        + "retrying in \(Int64(jittered.rounded(.up))) s (failure \(failures) in a row)")
    return next
  }

  /// Two thirds into the lifetime, less up to a fifteenth of it at random.
  static func renewalSeconds(_ facts: ACMECertificateFacts) -> Int64 {
    let lifetime = max(facts.notAfterSeconds - facts.notBeforeSeconds, 3)
    let jitter = Int64.random(in: 0...(lifetime / 15))
    return facts.notBeforeSeconds + lifetime * 2 / 3 - jitter
  }

  static func nowSeconds() -> Int64 { Int64(time(nil)) }
}

/// The stop request, shared with the client's wait loops.
final class ACMEStopSignal: Sendable {
  private let flag = Atomic<Bool>(false)
  var isSet: Bool { flag.load(ordering: .relaxed) }
  func set() { flag.store(true, ordering: .sequentiallyConsistent) }
}
