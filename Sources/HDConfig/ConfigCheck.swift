// The whole validation pipeline, shared by the daemon, `hyper-derp
// --check-config` and `hdctl check-config`: parse, decode against the schema,
// apply flags, check relations, then (optionally) the referenced files and the
// host. Every diagnostic of one file comes back from one run.

public struct ConfigCheckOptions: Sendable {
  /// Open certificates, keys and the key file (off for `--syntax-only`).
  public var checkReferencedFiles: Bool
  /// Compare against this host's CPUs and sysctls (off for `--syntax-only`).
  public var checkHost: Bool
  /// Report keys whose behaviour is not implemented yet.
  public var checkImplemented: Bool
  /// Root of the /sys and /proc trees used for host checks.
  public var hostRoot: String
  /// "Now" for certificate expiry, seconds since the epoch.
  public var nowSeconds: Int64

  public init(
    checkReferencedFiles: Bool = true, checkHost: Bool = true, checkImplemented: Bool = true,
    hostRoot: String = "/", nowSeconds: Int64 = UTCDate.nowSeconds()
  ) {
    self.checkReferencedFiles = checkReferencedFiles
    self.checkHost = checkHost
    self.checkImplemented = checkImplemented
    self.hostRoot = hostRoot
    self.nowSeconds = nowSeconds
  }

  /// YAML and schema only: nothing outside the file is looked at.
  public static var syntaxOnly: ConfigCheckOptions {
    ConfigCheckOptions(checkReferencedFiles: false, checkHost: false)
  }
}

public struct ConfigCheckResult: Sendable {
  /// The effective configuration; values that failed validation keep their default.
  public var config: Config
  /// Where each explicitly set key came from.
  public var origins: [String: SettingOrigin]
  public var diagnostics: [Diagnostic]

  public var isValid: Bool { !diagnostics.hasErrors }
}

public enum ConfigCheck {
  /// Checks YAML text (`file` names it in diagnostics), then applies `overrides`.
  public static func check(
    bytes: [UInt8]?, file: String, overrides: ConfigOverrides = ConfigOverrides(),
    options: ConfigCheckOptions = ConfigCheckOptions()
  ) -> ConfigCheckResult {
    var config = Config()
    var origins: [String: SettingOrigin] = [:]
    var diagnostics: [Diagnostic] = []

    if let bytes {
      let (document, syntax) = YAMLParser.parse(bytes: bytes, file: file)
      diagnostics += syntax
      var decoder = ConfigDecoder(file: file, document: document)
      decoder.decode()
      diagnostics += decoder.diagnostics
      apply(decoder.assignments, to: &config, origins: &origins)
    }
    apply(overrides.assignments, to: &config, origins: &origins)

    diagnostics += ConfigRelations.check(config, origins: origins)
    if options.checkImplemented {
      diagnostics += config.notImplementedSettings(origins: origins)
    }
    if options.checkReferencedFiles {
      diagnostics += ReferencedFileChecks.check(config, origins: origins, nowSeconds: options.nowSeconds)
    }
    if options.checkHost {
      diagnostics += HostChecks.check(config, facts: HostFacts.read(root: options.hostRoot), origins: origins)
    }
    return ConfigCheckResult(config: config, origins: origins, diagnostics: sorted(diagnostics))
  }

  private static func apply(
    _ assignments: [SettingAssignment], to config: inout Config, origins: inout [String: SettingOrigin]
  ) {
    for assignment in assignments {
      guard let spec = ConfigSchema.spec(forKey: assignment.key) else { continue }
      spec.apply(assignment.value, to: &config)
      origins[assignment.key] = assignment.origin
    }
  }

  /// File order (line, then column); diagnostics without a position keep their order after.
  static func sorted(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
    diagnostics.enumerated().sorted { a, b in
      let left = (a.element.line ?? Int.max, a.element.column ?? Int.max, a.offset)
      let right = (b.element.line ?? Int.max, b.element.column ?? Int.max, b.offset)
      return left < right
    }.map(\.element)
  }
}
