// Loading a config file from disk, for start-up and for SIGHUP reloads.

public enum ConfigLoader {
  /// Reads and fully checks the file at `path`. The config is nil when any error was found.
  public static func load(
    path: String, overrides: ConfigOverrides = ConfigOverrides(),
    options: ConfigCheckOptions = ConfigCheckOptions()
  ) -> (Config?, [Diagnostic]) {
    let result = check(path: path, overrides: overrides, options: options)
    return (result.isValid ? result.config : nil, result.diagnostics)
  }

  /// Re-reads the file and re-applies the same CLI overrides as at start-up, so a
  /// reload never loses a flag. On errors the caller keeps its old config.
  public static func reload(
    path: String, overrides: ConfigOverrides, options: ConfigCheckOptions = ConfigCheckOptions()
  ) -> (Config?, [Diagnostic]) {
    load(path: path, overrides: overrides, options: options)
  }

  /// The full check result of the file at `path` (nil path = built-in defaults plus overrides).
  public static func check(
    path: String?, overrides: ConfigOverrides = ConfigOverrides(),
    options: ConfigCheckOptions = ConfigCheckOptions()
  ) -> ConfigCheckResult {
    guard let path else {
      return ConfigCheck.check(bytes: nil, file: SettingOrigin.commandLineFile, overrides: overrides, options: options)
    }
    switch FileAccess.readBytes(path) {
    case .success(let bytes):
      return ConfigCheck.check(bytes: bytes, file: path, overrides: overrides, options: options)
    case .failure(let failure):
      let why: String
      switch failure {
      case .notFound: why = "no such file"
      case .unreadable(let reason): why = reason
      }
      let diagnostic = Diagnostic(
        severity: .error, code: .configFileUnreadable, file: path,
        message: "cannot read the config file '\(path)': \(why)")
      var result = ConfigCheck.check(bytes: nil, file: path, overrides: overrides, options: options)
      result.diagnostics.insert(diagnostic, at: 0)
      return result
    }
  }
}
