// TLS on the DERP port, as the relay's workers use it: the current server
// context (replaced on SIGHUP, validated first), the data path chosen at
// startup (kernel TLS when `ktls` allows and the kernel can; userspace
// otherwise) and the workers' TLS counters.
//
// The handshake runs inside each worker's event loop over memory BIOs (never
// a blocking SSL_accept, never a helper thread): it costs one ECDHE and one
// signature (~0.1–0.3 ms of CPU), about what the DERP ClientInfo box costs,
// and a slow client only holds its own connection's state, bounded by the
// same 10 s setup deadline as the DERP handshake.
@preconcurrency import Glibc
import HDConfig
import HDProtocol
import HDTLS
import Synchronization

/// Where a TLS connection's records are encrypted after the handshake.
public enum TLSDataPath: String, Sendable {
  /// Keys installed in the kernel (kTLS); the worker moves plaintext.
  case kernel
  /// OpenSSL in the worker encrypts and decrypts (memory BIOs).
  case userspace
}

/// The DERP port's TLS state; hand it to `RelayOptions.tls`.
public final class RelayTLS: RelayTLSContext, @unchecked Sendable {
  /// Data path for connections whose cipher the kernel can run.
  public let dataPath: TLSDataPath
  /// One line for the startup log: which TLS mode and why.
  public let modeDescription: String
  private let serverKey: DERPKey
  private let context: Mutex<TLSServerContext>
  /// TLS-ALPN-01 answers, when the certificate comes from ACME.
  public let challenges: ACMEChallengeCertificates?
  /// Per-worker counter blocks (index = worker; up to the relay's 64 workers).
  let workerStats: [TLSWorkerStats]

  static let workersMax = 64

  /// Builds the TLS state for `config`, or nil when `tls_cert`/`tls_key` are
  /// not set. Throws when the certificate or key is unusable, or when
  /// `ktls: required` and the kernel cannot do kernel TLS (naming the fix).
  public static func make(config: Config, serverKey: DERPKey) throws(RelayError) -> RelayTLS? {
    guard let cert = config.tlsCert, let key = config.tlsKey else { return nil }
    return try RelayTLS(certificatePath: cert, keyPath: key, ktls: config.ktls, serverKey: serverKey)
  }

  /// `kernelProbe` is injectable so tests can act out a kernel without kTLS.
  public convenience init(
    certificatePath: String, keyPath: String, ktls: KTLSMode, serverKey: DERPKey,
    kernelProbe: () -> Result<Void, KernelTLSUnavailable> = KernelTLS.probe
  ) throws(RelayError) {
    let initial: TLSServerContext
    do {
      initial = try TLSServerContext(certificatePath: certificatePath, keyPath: keyPath, serverKey: serverKey)
    } catch {
      throw RelayError("TLS: \(error.detail)")
    }
    try self.init(initial: initial, challenges: nil, ktls: ktls, serverKey: serverKey, kernelProbe: kernelProbe)
  }

  /// TLS for a certificate that ACME obtains: answers TLS-ALPN-01 from
  /// `challenges`, and serves `certificatePath`/`keyPath` when a usable one
  /// is cached (nil: no certificate yet; DERP handshakes fail until ACME
  /// installs one with `installCertificate`).
  public convenience init(
    acmeChallenges challenges: ACMEChallengeCertificates, certificatePath: String?, keyPath: String?,
    ktls: KTLSMode, serverKey: DERPKey, kernelProbe: () -> Result<Void, KernelTLSUnavailable> = KernelTLS.probe
  ) throws(RelayError) {
    let initial: TLSServerContext
    do {
      if let certificatePath, let keyPath {
        initial = try TLSServerContext(
          certificatePath: certificatePath, keyPath: keyPath, serverKey: serverKey, challenges: challenges)
      } else {
        initial = try TLSServerContext(challengesOnly: challenges)
      }
    } catch {
      throw RelayError("TLS: \(error.detail)")
    }
    try self.init(initial: initial, challenges: challenges, ktls: ktls, serverKey: serverKey, kernelProbe: kernelProbe)
  }

  private init(
    initial: TLSServerContext, challenges: ACMEChallengeCertificates?, ktls: KTLSMode, serverKey: DERPKey,
    kernelProbe: () -> Result<Void, KernelTLSUnavailable>
  ) throws(RelayError) {
    switch ktls {
    case .off:
      dataPath = .userspace
      modeDescription = "TLS on the DERP port: userspace TLS (ktls: off)"
    case .auto, .required:
      switch kernelProbe() {
      case .success:
        dataPath = .kernel
        modeDescription = "TLS on the DERP port: kernel TLS (ktls: \(ktls.rawValue); kernel tls module available; "
          + "ChaCha20 connections stay in userspace)"
      case .failure(let why):
        if ktls == .required {
          throw RelayError("ktls: required, but \(why.description)")
        }
        dataPath = .userspace
        modeDescription = "TLS on the DERP port: userspace TLS (ktls: auto; \(why.description))"
      }
    }
    self.serverKey = serverKey
    self.challenges = challenges
    self.context = Mutex(initial)
    self.workerStats = (0..<Self.workersMax).map { _ in TLSWorkerStats.allocate() }
  }

  deinit {
    for block in workerStats { block.slots.deallocate() }
  }

  /// The context new connections use. Existing sessions keep the one they
  /// were created with (OpenSSL reference-counts it).
  var currentContext: TLSServerContext { context.withLock { $0 } }

  /// SIGHUP: loads and validates the pair, then swaps it in. On failure the
  /// old context stays in service and the error says why.
  public func reloadCertificates(certificatePath: String, keyPath: String) throws(RelayError) {
    let fresh: TLSServerContext
    do {
      fresh = try TLSServerContext(
        certificatePath: certificatePath, keyPath: keyPath, serverKey: serverKey, challenges: challenges)
    } catch {
      throw RelayError("TLS reload: \(error.detail); keeping the previous certificate")
    }
    context.withLock { $0 = fresh }
  }

  /// ACME installs a new certificate through the same path as SIGHUP: new
  /// connections get it, existing ones keep the context they started with.
  public func installCertificate(certificatePath: String, keyPath: String) throws(RelayError) {
    try reloadCertificates(certificatePath: certificatePath, keyPath: keyPath)
  }

  /// False while ACME has not installed a first certificate.
  public var servesCertificate: Bool { currentContext.hasCertificate }

  /// The leaf certificate new connections get: expiry, self-signed, pin
  /// (`hyper_derp_tls_cert_expiry_timestamp_seconds`, /health). Follows reloads.
  public var certificate: CertificateSummary? { currentContext.leaf }

  /// One line for the log at start and after each reload: when the
  /// certificate expires and, when it is self-signed, the pin the DERP map
  /// needs (clients reaching the relay by IP trust nothing else).
  public func certificateDescription(nowSeconds: Int64 = UTCDate.nowSeconds()) -> String {
    let context = currentContext
    guard context.hasCertificate else { return "TLS certificate: none yet (ACME has not issued one)" }
    guard let leaf = context.leaf else { return "TLS certificate \(context.certificatePath): expiry unreadable" }
    let days = leaf.daysLeft(now: nowSeconds)
    let expiry = leaf.isExpired(now: nowSeconds)
      ? "EXPIRED on \(UTCDate.format(leaf.notAfter)); clients refuse it"
      : "expires \(UTCDate.format(leaf.notAfter)), in \(days) day\(days == 1 ? "" : "s")"
    guard leaf.selfSigned else { return "TLS certificate \(context.certificatePath): \(expiry)" }
    return "TLS certificate \(context.certificatePath) is self-signed (\(expiry)): give this node "
      + "\"CertName\": \"\(leaf.pin.certName)\" in the DERP map"
  }

  /// The live-reload hook for `tls_cert`/`tls_key` (register it with the
  /// daemon's ConfigReloader). It re-reads the files on every SIGHUP, even
  /// when the paths did not change (certbot renews in place), and logs the
  /// certificate now served.
  public func reloadHook(log: @escaping RelayLogSink) -> ReloadHook {
    ReloadHook(name: "TLS certificate", keys: ["tls_cert", "tls_key"], rereadsFiles: true) { [self] _, new in
      guard let cert = new.tlsCert, let key = new.tlsKey else {
        throw RelayError("TLS reload: turning TLS off needs a restart; keeping the previous certificate")
      }
      try reloadCertificates(certificatePath: cert, keyPath: key)
      log(.info, "reload: " + certificateDescription())
    }
  }

  /// TLS counters summed over the workers.
  public func statsSnapshot() -> TLSStatsSnapshot {
    var s = TLSStatsSnapshot()
    for block in workerStats { block.accumulate(into: &s) }
    return s
  }
}
