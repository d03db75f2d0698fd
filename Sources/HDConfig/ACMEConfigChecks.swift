// check-config's rules for the `acme` section: what must go together, what
// excludes what, and (with referenced-file checks on) whether the cache
// directory and the EAB key file are usable.
@preconcurrency import Glibc

public enum ACMEConfigChecks {
  /// Where to report about `key`: where it was set or, for a default, where
  /// ACME was turned on (the identifiers), so every finding has a position.
  private static func origin(_ key: String, _ config: Config, _ origins: [String: SettingOrigin]) -> SettingOrigin {
    origins[key] ?? origins[config.acme.domains.isEmpty ? "acme.ip_addresses" : "acme.domains"] ?? .builtIn
  }

  static func relations(_ config: Config, origins: [String: SettingOrigin]) -> [Diagnostic] {
    var diagnostics: [Diagnostic] = []
    func at(_ key: String) -> SettingOrigin { origin(key, config, origins) }
    let acme = config.acme
    let setKeys = ConfigSchema.acmeKeys.filter { $0.isSet(in: config) }.map(\.key)

    guard acme.enabled else {
      if let first = setKeys.first {
        diagnostics.append(
          at(first).diagnostic(
            .error, .acmeNoIdentifiers, key: first,
            "\(first) is set but the certificate names nothing: acme needs acme.domains or acme.ip_addresses",
            suggestion: "add acme.domains: [relay.example.com], or remove the acme section"))
      }
      return diagnostics
    }
    let identifierKey = acme.domains.isEmpty ? "acme.ip_addresses" : "acme.domains"
    for fileKey in ["tls_cert", "tls_key"] where ConfigSchema.spec(forKey: fileKey)!.isSet(in: config) {
      diagnostics.append(
        at(fileKey).diagnostic(
          .error, .acmeWithCertificateFiles, key: fileKey,
          "\(fileKey) is set together with \(identifierKey); the DERP certificate comes either from files or from ACME",
          suggestion: "remove \(fileKey) (and its pair), or remove the acme section"))
    }
    if case .success(let url) = HTTPURL.parse(acme.directoryURL), !url.isHTTPS {
      diagnostics.append(
        at("acme.directory_url").diagnostic(
          .error, .acmeDirectoryNotHTTPS, key: "acme.directory_url",
          "acme.directory_url '\(acme.directoryURL)' is not https://; ACME requires TLS to the CA (RFC 8555 §6.1)",
          suggestion: "use the CA's https:// directory URL (and acme.directory_ca_file for a private CA)"))
    }
    if acme.usableChallenges.isEmpty {
      let why =
        acme.challenges.isEmpty
        ? "acme.challenges is empty" : "acme.challenges has only http-01, which needs acme.http_port"
      diagnostics.append(
        at("acme.challenges").diagnostic(
          .error, .acmeChallengeUnusable, key: "acme.challenges", "\(why); no certificate could ever be validated",
          suggestion: "add tls-alpn-01, or set acme.http_port: 80"))
    }
    if acme.httpPort != 0, acme.httpPort == config.port || acme.httpPort == config.metrics.port {
      diagnostics.append(
        at("acme.http_port").diagnostic(
          .error, .portConflict, key: "acme.http_port",
          "acme.http_port \(acme.httpPort) is already the \(acme.httpPort == config.port ? "DERP" : "metrics") port"))
    }
    if (acme.eabKid == nil) != (acme.eabHMACKeyFile == nil) {
      let (present, missing) =
        acme.eabKid != nil ? ("acme.eab_kid", "acme.eab_hmac_key_file") : ("acme.eab_hmac_key_file", "acme.eab_kid")
      diagnostics.append(
        at(present).diagnostic(
          .error, .acmeIncompleteEAB, key: present,
          "\(present) is set but \(missing) is not; External Account Binding needs both", suggestion: "add \(missing)"))
    }
    if let email = acme.email, !isEmailAddress(email) {
      diagnostics.append(
        at("acme.email").diagnostic(
          .error, .acmeContactInvalid, key: "acme.email",
          "acme.email '\(email)' is not an e-mail address (name@domain)"))
    }
    return diagnostics
  }

  static func files(_ config: Config, origins: [String: SettingOrigin]) -> [Diagnostic] {
    guard config.acme.enabled else { return [] }
    var diagnostics: [Diagnostic] = []
    func at(_ key: String) -> SettingOrigin { origin(key, config, origins) }
    if let problem = cacheDirectoryProblem(config.acme.cacheDir) {
      diagnostics.append(
        at("acme.cache_dir").diagnostic(
          .error, .acmeCacheDirUnusable, key: "acme.cache_dir", "acme.cache_dir '\(config.acme.cacheDir)' \(problem)",
          suggestion: "create it writable for the relay's user (systemd: StateDirectory=hyper-derp)"))
    }
    if let path = config.acme.eabHMACKeyFile {
      switch FileAccess.readBytes(path, limitBytes: 4096) {
      case .success(let bytes):
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " \n\t\r")
        if (Base64URL.decode(text)?.count ?? 0) < 16 {
          diagnostics.append(
            at("acme.eab_hmac_key_file").diagnostic(
              .error, .acmeEABKeyInvalid, key: "acme.eab_hmac_key_file",
              "'\(path)' does not hold a base64url HMAC key of at least 16 bytes",
              suggestion: "paste the HMAC key exactly as the CA shows it"))
        }
      case .failure(.notFound):
        diagnostics.append(
          at("acme.eab_hmac_key_file").diagnostic(
            .error, .fileNotFound, key: "acme.eab_hmac_key_file", "acme.eab_hmac_key_file '\(path)' does not exist"))
      case .failure(.unreadable(let why)):
        diagnostics.append(
          at("acme.eab_hmac_key_file").diagnostic(
            .error, .fileUnreadable, key: "acme.eab_hmac_key_file", "acme.eab_hmac_key_file '\(path)' cannot be read: \(why)"))
      }
    }
    if let path = config.acme.directoryCAFile, access(path, R_OK) != 0 {
      let code: DiagnosticCode = FileAccess.exists(path) ? .fileUnreadable : .fileNotFound
      diagnostics.append(
        at("acme.directory_ca_file").diagnostic(
          .error, code, key: "acme.directory_ca_file", "acme.directory_ca_file '\(path)' cannot be read"))
    }
    return diagnostics
  }

  /// Nil when the directory is writable, or missing with a writable parent (the relay creates it).
  public static func cacheDirectoryProblem(_ path: String) -> String? {
    if FileAccess.isDirectory(path) {
      return access(path, W_OK | X_OK) == 0 ? nil : "is not writable by this user"
    }
    if FileAccess.exists(path) { return "exists but is not a directory" }
    var parent = path
    while parent.hasSuffix("/") && parent.count > 1 { parent.removeLast() }
    parent = parent.contains("/") ? String(parent[..<parent.lastIndex(of: "/")!]) : "."
    if parent.isEmpty { parent = "/" }
    guard FileAccess.isDirectory(parent) else { return "does not exist, nor does its parent '\(parent)'" }
    return access(parent, W_OK | X_OK) == 0 ? nil : "does not exist and its parent '\(parent)' is not writable"
  }

  static func isEmailAddress(_ text: String) -> Bool {
    let parts = text.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, parts[1].contains(".") else { return false }
    return !text.contains(where: { $0 == " " || $0 == "," || $0 == "<" || $0 == ">" || $0 == ":" })
  }
}
