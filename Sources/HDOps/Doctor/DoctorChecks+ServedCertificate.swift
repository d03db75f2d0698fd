// Whether the running relay serves the certificate that is on disk: after a
// renewal (certbot, hdctl cert self-signed --force) the files change but the
// relay keeps the old certificate until a reload. Compares the file's notAfter
// and pin with /health's tls_certificates entry for the DERP port.
import Foundation
import HDConfig
import HDTLS

extension DoctorChecks {
  /// The part of /health this check reads.
  struct ServedCertificates: Decodable {
    struct Entry: Decodable {
      var listener: String
      var not_after: String
      var pin: String?
    }

    var tls_certificates: [Entry]?
  }

  static func servedCertificate(_ context: DoctorContext) -> CheckOutcome {
    guard let cert = context.config.tlsCert else {
      return .skipped("tls_cert not set: the relay serves no certificate to compare")
    }
    let metrics = context.config.metrics
    guard metrics.port > 0 else {
      return .skipped("metrics.port is 0: the relay serves no /health to compare with")
    }
    guard metrics.tlsCert == nil else {
      return .skipped("metrics are served over HTTPS; compare by hand: curl -k https://…/health")
    }
    let host = healthHost(metrics.bind)
    guard case .answered(_, let body) = askHealth(context, host: host, port: metrics.port) else {
      return .skipped("no relay answers GET /health on port \(metrics.port) (see RELAY_HEALTH)")
    }
    guard let health = try? JSONDecoder().decode(ServedCertificates.self, from: Data(body.utf8)),
      let entries = health.tls_certificates
    else {
      return .skipped("the relay's /health does not list tls_certificates (an older version): compare by hand")
    }
    guard let served = entries.first(where: { $0.listener == "derp" }) else {
      return .warning(
        "tls_cert \(cert) is set, but the running relay serves the DERP port without TLS",
        fix: "systemctl restart hyper-derp   # TLS on or off takes a restart")
    }
    guard let file = try? CertificateFileReport.read(certificatePath: context.root.resolve(cert), keyPath: nil) else {
      return .skipped("tls_cert \(cert) cannot be read (see TLS_CERT)")
    }
    let onDisk = UTCDate.formatTimestamp(file.leaf.notAfter)
    let pinOnDisk = file.leaf.selfSigned ? file.leaf.pin.certName : nil
    if served.not_after == onDisk && served.pin == pinOnDisk {
      return .ok("the relay serves tls_cert \(cert) as on disk (valid until \(onDisk))")
    }
    let change = served.pin != pinOnDisk && pinOnDisk != nil ? "; the DERP map pin becomes \(pinOnDisk!)" : ""
    return .warning(
      "the relay serves a certificate valid until \(served.not_after); tls_cert \(cert) on disk is valid until \(onDisk)"
        + change,
      fix: "systemctl reload hyper-derp   # the relay re-reads tls_cert/tls_key on SIGHUP")
  }
}
