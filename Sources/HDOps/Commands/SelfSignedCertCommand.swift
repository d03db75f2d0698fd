// hdctl cert self-signed: a certificate for a relay reached by IP address,
// written where tls_cert/tls_key can point, and the DERP map pin for it.
// The certificate is made by HDTLS (OpenSSL), the same code the tests use.
@preconcurrency import Glibc
import HDConfig
import HDTLS

public struct SelfSignedCertRequest: Sendable {
  public var outputDirectory: String
  public var ipAddresses: [String] = []
  public var hostNames: [String] = []
  public var days: Int = 365
  /// Replace cert.pem/key.pem when they exist (otherwise refuse).
  public var replaceExisting = false
  /// Where the files go; tests use a fixture root.
  public var root: FileSystemRoot = .live

  public init(outputDirectory: String) { self.outputDirectory = outputDirectory }
}

public enum SelfSignedCertCommand {
  public static let certificateFileName = "cert.pem"
  public static let keyFileName = "key.pem"
  /// Certificates longer-lived than this are refused: 100 years is already
  /// beyond what any client's date parsing is tested with.
  static let daysMax = 36_500

  public static func run(_ request: SelfSignedCertRequest) -> CommandOutput {
    guard !request.ipAddresses.isEmpty || !request.hostNames.isEmpty else {
      return .usage("give at least one --ip ADDR (the address clients dial; --hostname NAME adds a DNS name)")
    }
    if let bad = request.ipAddresses.first(where: { !SelfSignedCertificate.isIPLiteral($0) }) {
      return .usage("--ip \(bad): not an IPv4 or IPv6 address")
    }
    if let bad = request.hostNames.first(where: { !SelfSignedCertificate.isHostName($0) }) {
      return .usage("--hostname \(bad): not a DNS name (letters, digits, '-', separated by dots)")
    }
    guard request.days >= 1 && request.days <= daysMax else {
      return .usage("--days \(request.days): must be between 1 and \(daysMax)")
    }
    let directory = absolute(request.outputDirectory)
    let certPath = directory + "/" + certificateFileName
    let keyPath = directory + "/" + keyFileName
    if !request.replaceExisting,
      let existing = [certPath, keyPath].first(where: { request.root.exists($0) })
    {
      return .failure("\(existing) exists; use --force to replace it (the pin changes: update the DERP map too)")
    }
    let certificate: SelfSignedCertificate
    do {
      certificate = try SelfSignedCertificate.make(
        ipAddresses: request.ipAddresses, hostNames: request.hostNames,
        notAfterOffsetSeconds: request.days * 86_400)
    } catch {
      return .failure(error.description)
    }
    do throws(FileSystemError) {
      try request.root.createDirectories(directory)
      // Key first: a relay reloading in between sees the old certificate with
      // a new key, refuses the pair and keeps serving the old one.
      try request.root.writeAtomically(keyPath, certificate.privateKeyPEM, mode: 0o600)
      try request.root.writeAtomically(certPath, certificate.certificatePEM, mode: 0o644)
    } catch {
      return .failure("\(error)")
    }
    return CommandOutput(standardOutput: report(certificate, request: request, certPath: certPath, keyPath: keyPath))
  }

  static func report(
    _ certificate: SelfSignedCertificate, request: SelfSignedCertRequest, certPath: String, keyPath: String
  ) -> String {
    let hostName = request.hostNames.first ?? request.ipAddresses[0]
    var node: [(String, String)] = [("Name", "900a"), ("RegionID", "900"), ("HostName", hostName)]
    if let v4 = request.ipAddresses.first(where: { !$0.contains(":") }) { node.append(("IPv4", v4)) }
    if let v6 = request.ipAddresses.first(where: { $0.contains(":") }) { node.append(("IPv6", v6)) }
    node.append(("CertName", certificate.pin.certName))
    let nodeJSON = "{" + node.map { "\"\($0.0)\": \($0.0 == "RegionID" ? $0.1 : "\"\($0.1)\"")" }.joined(separator: ", ") + "}"
    return """
      \(certificate.pin.certName)

      wrote \(certPath) (certificate, 0644) and \(keyPath) (private key, 0600)
      valid until \(UTCDate.format(certificate.notAfter)) for \((request.ipAddresses + request.hostNames).joined(separator: ", "))

      relay config:
        tls_cert: \(certPath)
        tls_key: \(keyPath)
      DERP map node (CertName is the pin above; Tailscale 1.82 or later):
        \(nodeJSON)

      """
  }

  private static func absolute(_ path: String) -> String {
    var trimmed = path
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    guard !trimmed.hasPrefix("/") else { return trimmed }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
    guard getcwd(&buffer, buffer.count) != nil else { return trimmed }
    let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    if trimmed == "." { return cwd }
    return (cwd == "/" ? "" : cwd) + "/" + trimmed
  }
}
