// How long the served certificates have left, read with the relay's own
// certificate code (HDTLS), so doctor, the expiry metric and /health agree:
// a warning under 14 days, an error once expired or when the key belongs to
// another certificate, and the DERP map pin of a self-signed one. With ACME
// the DERP certificate is the one in acme.cache_dir.
import HDConfig
import HDTLS

extension DoctorChecks {
  enum CertificateListener {
    case derp
    case metrics
  }

  static func certificateExpiry(
    _ context: DoctorContext, listener: CertificateListener, nowSeconds: Int64 = UTCDate.nowSeconds()
  ) -> CheckOutcome {
    let prefix = listener == .derp ? "" : "metrics."
    var certKey = prefix + "tls_cert"
    var keyKey = prefix + "tls_key"
    var cert = listener == .derp ? context.config.tlsCert : context.config.metrics.tlsCert
    var key = listener == .derp ? context.config.tlsKey : context.config.metrics.tlsKey
    let acme = listener == .derp && context.config.acme.enabled
    if acme {
      let cache = ACMECacheFiles(directory: context.config.acme.cacheDir)
      (certKey, keyKey, cert, key) = ("ACME certificate", "its key", cache.certificatePath, cache.certificateKeyPath)
    }
    guard let cert else {
      return .ok("\(certKey) not set: no certificate to expire")
    }
    if acme && !context.root.exists(cert) {
      return .ok("no ACME certificate in acme.cache_dir yet (\(cert)): the relay orders one at start")
    }
    let report: CertificateFileReport
    do {
      report = try CertificateFileReport.read(
        certificatePath: context.root.resolve(cert), keyPath: key.map { context.root.resolve($0) })
    } catch {
      let check = listener == .derp ? CheckCode.tlsCert : .metricsTLSCert
      let why = acme ? "the relay rejects it and orders a new one" : "\(check.rawValue) says why"
      return .skipped("\(certKey) \(cert) cannot be read as a certificate (\(why))")
    }
    let leaf = report.leaf
    // The daemon reads both certificates again on SIGHUP.
    let apply = "systemctl reload hyper-derp"
    let renew =
      acme
      ? "the relay renews it by itself from two thirds of its lifetime; why it has not: "
        + "journalctl -u hyper-derp | grep ACME, and acme.last_error in GET /health"
      : leaf.selfSigned
        ? "hdctl cert self-signed --ip ADDR --out \(parentPath(of: cert)) --force, put the new pin in the DERP map, \(apply)"
        : "renew it (certbot renew runs the deploy hook), then \(apply)"
    if report.keyMatches == false, let key {
      return .error(
        "\(keyKey) \(key) does not belong to \(certKey) \(cert): the relay refuses this pair",
        fix: "point \(keyKey) at the key made with this certificate, then \(apply)")
    }
    let date = UTCDate.format(leaf.notAfter)
    let days = leaf.daysLeft(now: nowSeconds)
    let pinNote = leaf.selfSigned ? "; self-signed, DERP map CertName \(leaf.pin.certName)" : ""
    if leaf.isExpired(now: nowSeconds) {
      let ago = (nowSeconds - leaf.notAfter) / 86_400
      return .error(
        "\(certKey) \(cert) expired on \(date)" + (ago >= 1 ? ", \(ago) day\(ago == 1 ? "" : "s") ago" : "")
          + ": clients refuse it" + pinNote,
        fix: renew)
    }
    if leaf.notAfter - nowSeconds < ReferencedFileChecks.expiryWarningSeconds {
      return .warning(
        "\(certKey) \(cert) expires on \(date), in \(days) day\(days == 1 ? "" : "s")" + pinNote, fix: renew)
    }
    return .ok("\(certKey) \(cert) valid until \(date) (14 days or more)" + pinNote)
  }
}
