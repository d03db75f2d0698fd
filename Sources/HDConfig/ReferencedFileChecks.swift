// Checks of the files a config points at: certificates and keys exist, are
// readable, parse, belong together and are not (about to be) expired, and the
// DERP key file, when present, has the expected form.

public enum ReferencedFileChecks {
  /// Certificates expiring sooner than this get a warning (check-config and doctor).
  public static let expiryWarningSeconds: Int64 = 14 * 24 * 3600

  static func check(_ config: Config, origins: [String: SettingOrigin], nowSeconds: Int64) -> [Diagnostic] {
    var diagnostics: [Diagnostic] = []
    let pairs = [("tls_cert", "tls_key"), ("metrics.tls_cert", "metrics.tls_key")]
    for (certKey, keyKey) in pairs {
      let certPath = ConfigSchema.spec(forKey: certKey)!.value(in: config).optionalStringValue
      let keyPath = ConfigSchema.spec(forKey: keyKey)!.value(in: config).optionalStringValue
      var certPEM: [UInt8]?
      var keyPEM: [UInt8]?
      var certNotAfter: Int64?
      if let certPath, let bytes = readReferenced(certPath, key: certKey, origins: origins, into: &diagnostics) {
        if let notAfter = CertificateInspector.leafNotAfter(bytes) {
          certPEM = bytes
          certNotAfter = notAfter
        } else {
          diagnostics.append(
            origin(certKey, origins).diagnostic(
              .error, .certificateInvalid, key: certKey, "'\(certPath)' does not contain a PEM certificate"))
        }
      }
      if let keyPath, let bytes = readReferenced(keyPath, key: keyKey, origins: origins, into: &diagnostics) {
        if CertificateInspector.isPrivateKey(bytes) {
          keyPEM = bytes
        } else {
          diagnostics.append(
            origin(keyKey, origins).diagnostic(
              .error, .privateKeyInvalid, key: keyKey,
              "'\(keyPath)' does not contain an unencrypted PEM private key"))
        }
      }
      if let certPEM, let keyPEM, !CertificateInspector.keyMatches(certificatePEM: certPEM, keyPEM: keyPEM) {
        diagnostics.append(
          origin(keyKey, origins).diagnostic(
            .error, .keyCertificateMismatch, key: keyKey,
            "the private key '\(keyPath!)' does not belong to the certificate '\(certPath!)'"))
      }
      if let certNotAfter {
        diagnostics += expiry(certNotAfter, path: certPath!, key: certKey, origins: origins, nowSeconds: nowSeconds)
      }
    }
    if let caFile = config.tlsCAFile {
      diagnostics += checkCABundle(caFile, origins: origins)
    }
    if let keyFile = config.keyFile {
      diagnostics += checkKeyFile(keyFile, origins: origins)
    }
    if let meshKeyFile = config.mesh.keyFile,
      let bytes = readReferenced(meshKeyFile, key: "mesh.key_file", origins: origins, into: &diagnostics),
      !isMeshKeyFileContent(String(decoding: bytes, as: UTF8.self))
    {
      diagnostics.append(
        origin("mesh.key_file", origins).diagnostic(
          .error, .keyFileInvalid, key: "mesh.key_file",
          "'\(meshKeyFile)' does not hold the mesh secret as 64 hex characters",
          suggestion: "make one with `openssl rand -hex 32 > \(meshKeyFile)` and copy it to every relay of the region"))
    }
    diagnostics += ACMEConfigChecks.files(config, origins: origins)
    return diagnostics
  }

  private static func origin(_ key: String, _ origins: [String: SettingOrigin]) -> SettingOrigin {
    origins[key] ?? .builtIn
  }

  private static func readReferenced(
    _ path: String, key: String, origins: [String: SettingOrigin], into diagnostics: inout [Diagnostic]
  ) -> [UInt8]? {
    switch FileAccess.readBytes(path, limitBytes: 1 << 20) {
    case .success(let bytes):
      return bytes
    case .failure(.notFound):
      diagnostics.append(
        origin(key, origins).diagnostic(.error, .fileNotFound, key: key, "\(key) file '\(path)' does not exist"))
    case .failure(.unreadable(let why)):
      diagnostics.append(
        origin(key, origins).diagnostic(.error, .fileUnreadable, key: key, "\(key) file '\(path)' cannot be read: \(why)"))
    }
    return nil
  }

  private static func expiry(
    _ notAfter: Int64, path: String, key: String, origins: [String: SettingOrigin], nowSeconds: Int64
  ) -> [Diagnostic] {
    let date = UTCDate.format(notAfter)
    if notAfter <= nowSeconds {
      return [
        origin(key, origins).diagnostic(
          .error, .certificateExpired, key: key, "the certificate '\(path)' expired on \(date)")
      ]
    }
    if notAfter - nowSeconds < expiryWarningSeconds {
      let days = (notAfter - nowSeconds) / 86400
      return [
        origin(key, origins).diagnostic(
          .warning, .certificateExpiringSoon, key: key,
          "the certificate '\(path)' expires on \(date), in \(days) day\(days == 1 ? "" : "s")",
          suggestion: "renew it")
      ]
    }
    return []
  }

  /// tls_ca_file: exists, is readable, and is nothing but PEM certificates
  /// (at least one). System bundles run to a few hundred KiB.
  private static func checkCABundle(_ path: String, origins: [String: SettingOrigin]) -> [Diagnostic] {
    let key = "tls_ca_file"
    let at = origin(key, origins)
    switch FileAccess.readBytes(path, limitBytes: 16 << 20) {
    case .failure(.notFound):
      return [at.diagnostic(.error, .fileNotFound, key: key, "\(key) file '\(path)' does not exist",
                            suggestion: "point it at the PEM file of the CA that signed the mesh peers' (or the controller's) certificates, or remove it to use SSL_CERT_FILE / the system store")]
    case .failure(.unreadable(let why)):
      return [at.diagnostic(.error, .fileUnreadable, key: key, "\(key) file '\(path)' cannot be read: \(why)")]
    case .success(let bytes):
      switch CertificateInspector.bundleCertificateCount(bytes) {
      case let count? where count > 0: return []
      case .some:
        return [at.diagnostic(.error, .certificateInvalid, key: key, "'\(path)' holds no PEM certificate",
                              suggestion: "a CA bundle is one or more -----BEGIN CERTIFICATE----- blocks")]
      case nil:
        return [at.diagnostic(.error, .certificateInvalid, key: key,
                              "'\(path)' has a certificate block that does not parse as PEM",
                              suggestion: "check the file is a PEM CA bundle (not DER, not truncated)")]
      }
    }
  }

  /// 64 hex digits (derper's -mesh-psk-file form), whitespace around ignored.
  static func isMeshKeyFileContent(_ text: String) -> Bool {
    let trimmed = text.trimmingCharacters(in: " \n\t\r")
    return trimmed.count == 64 && trimmed.allSatisfy { $0.isHexDigit }
  }

  /// `privkey:` followed by 64 hex digits, the derper key file form.
  static func isDERPKeyFileContent(_ text: String) -> Bool {
    let trimmed = text.trimmingCharacters(in: " \n\t\r")
    guard trimmed.hasPrefix("privkey:") else { return false }
    let hex = trimmed.dropFirst("privkey:".count)
    return hex.count == 64 && hex.allSatisfy { $0.isHexDigit }
  }

  private static func checkKeyFile(_ path: String, origins: [String: SettingOrigin]) -> [Diagnostic] {
    let at = origin("key_file", origins)
    switch FileAccess.readBytes(path, limitBytes: 4096) {
    case .success(let bytes):
      if isDERPKeyFileContent(String(decoding: bytes, as: UTF8.self)) { return [] }
      return [at.diagnostic(.error, .keyFileInvalid, key: "key_file", "'\(path)' does not hold a key of the form privkey:<64 hex digits>")]
    case .failure(.notFound):
      // A missing key file is created at start; its directory must exist though.
      let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
      if FileAccess.isDirectory(directory.isEmpty ? "/" : directory) { return [] }
      return [
        at.diagnostic(
          .error, .fileNotFound, key: "key_file",
          "key_file '\(path)' does not exist and its directory '\(directory)' does not either, so it cannot be created")
      ]
    case .failure(.unreadable(let why)):
      return [at.diagnostic(.error, .fileUnreadable, key: "key_file", "key_file '\(path)' cannot be read: \(why)")]
    }
  }
}
