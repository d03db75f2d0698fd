// The daemon's command line: `--config`, the action flags, and one flag per
// schema key (`--flag value` or `--flag=value`). Precedence is built-in default
// < file < flag, whatever the order on the command line.

public enum DaemonAction: String, Sendable, Equatable {
  case run, checkConfig, printConfig, version, help
}

public struct DaemonInvocation: Sendable {
  /// The effective configuration (defaults where validation failed).
  public var config: Config
  public var configPath: String?
  public var action: DaemonAction
  /// Everything found: flag problems, file and relation errors, not-implemented
  /// keys, referenced files and host warnings. Refuse to run on any error.
  public var diagnostics: [Diagnostic]
  /// The flags as settings, to re-apply on a SIGHUP reload (`ConfigLoader.reload`).
  public var overrides: ConfigOverrides
  public var origins: [String: SettingOrigin]
}

public enum DaemonCommandLine {
  /// Flags that are not configuration keys, with their help text.
  public static let actionFlags: [(flag: String, takesPath: Bool, help: String)] = [
    ("--config", true, "YAML config file to load (without it: built-in defaults)"),
    ("--check-config", false, "validate the configuration like `hdctl check-config`, print diagnostics, exit"),
    ("--print-config", false, "print the effective configuration (defaults < file < flags) as YAML, exit"),
    ("--version", false, "print the version, exit"),
    ("--help", false, "print this help, exit"),
  ]

  /// Parses `args` (without argv[0]) and loads the config file they name.
  public static func parse(_ args: [String], options: ConfigCheckOptions = ConfigCheckOptions()) -> DaemonInvocation {
    var flags = FlagScan(args: args)
    flags.scan()
    var result = ConfigLoader.check(path: flags.configPath, overrides: flags.overrides, options: options)
    result.diagnostics = flags.diagnostics + result.diagnostics
    return DaemonInvocation(
      config: result.config, configPath: flags.configPath, action: flags.action, diagnostics: result.diagnostics,
      overrides: flags.overrides, origins: result.origins)
  }

  /// Every flag the daemon accepts, for completions and did-you-mean.
  public static var allFlags: [String] {
    actionFlags.map(\.flag) + ConfigSchema.keys.map(\.flag)
  }
}

/// One pass over argv collecting the action, the config path and the overrides.
private struct FlagScan {
  let args: [String]
  var index = 0
  var action = DaemonAction.run
  var configPath: String?
  var overrides = ConfigOverrides()
  var diagnostics: [Diagnostic] = []

  init(args: [String]) { self.args = args }

  private mutating func error(_ code: DiagnosticCode, _ message: String, key: String? = nil, suggestion: String? = nil) {
    diagnostics.append(
      Diagnostic(
        severity: .error, code: code, file: SettingOrigin.commandLineFile, keyPath: key, message: message,
        suggestion: suggestion))
  }

  /// The value after `name`: inline (`--x=v`) or the next argument.
  private mutating func value(for name: String, inline: String?) -> String? {
    if let inline { return inline }
    if index + 1 < args.count, !args[index + 1].hasPrefix("--") {
      index += 1
      return args[index]
    }
    error(.missingFlagValue, "\(name) needs a value")
    return nil
  }

  mutating func scan() {
    while index < args.count {
      defer { index += 1 }
      let argument = args[index]
      guard argument.hasPrefix("-"), argument.count > 1 else {
        error(.unknownFlag, "unexpected argument '\(argument)'; settings are given as --flag value")
        continue
      }
      var name = argument
      var inline: String?
      if let equals = argument.firstIndex(of: "=") {
        name = String(argument[..<equals])
        inline = String(argument[argument.index(after: equals)...])
      }
      scanOne(name: name, inline: inline)
    }
    action = actionRequested ?? .run
  }

  private var actionRequested: DaemonAction?

  private mutating func requestAction(_ requested: DaemonAction, name: String, inline: String?) {
    if inline != nil { error(.unknownFlag, "\(name) takes no value") }
    // --help and --version win over the others, as in most tools.
    let rank: [DaemonAction: Int] = [.run: 0, .checkConfig: 1, .printConfig: 2, .version: 3, .help: 4]
    if rank[requested]! > rank[actionRequested ?? .run]! { actionRequested = requested }
  }

  private mutating func scanOne(name: String, inline: String?) {
    switch name {
    case "--config":
      configPath = value(for: name, inline: inline)
    case "--check-config": requestAction(.checkConfig, name: name, inline: inline)
    case "--print-config": requestAction(.printConfig, name: name, inline: inline)
    case "--version": requestAction(.version, name: name, inline: inline)
    case "--help", "-h": requestAction(.help, name: name, inline: inline)
    default:
      if let spec = ConfigSchema.spec(forFlag: name) {
        scanSetting(spec, name: name, inline: inline)
      } else if let entry = UnsupportedCxxFeatures.flag(name) {
        error(
          .unsupportedCxxFlag,
          "\(name) belongs to \(entry.feature) of the C++ Hyper-DERP, which this implementation does not support")
        if entry.takesValue, inline == nil, index + 1 < args.count, !args[index + 1].hasPrefix("--") { index += 1 }
      } else {
        let suggestion = Suggestions.closest(to: name, among: DaemonCommandLine.allFlags).map { "did you mean '\($0)'?" }
        error(.unknownFlag, "unknown flag '\(name)'", suggestion: suggestion)
      }
    }
  }

  private mutating func scanSetting(_ spec: ConfigKeySpec, name: String, inline: String?) {
    if spec.deprecatedFlags.contains(name) {
      diagnostics.append(
        Diagnostic(
          severity: .warning, code: .deprecatedAlias, file: SettingOrigin.commandLineFile, keyPath: spec.key,
          message: "\(name) is a deprecated alias of \(spec.flag)", suggestion: "use \(spec.flag)"))
    }
    let text: String?
    if case .boolean = spec.type {
      text = inline ?? "true"
    } else {
      text = value(for: name, inline: inline)
    }
    guard let text else { return }
    // On the command line an empty value is a mistake, never "unset" (YAML's null).
    if text.isEmpty, spec.type.isOptional {
      error(.emptyPath, "\(name) needs a non-empty value", key: spec.key)
      return
    }
    let node = YAMLNode(value: .scalar(text, plain: true), mark: YAMLMark(line: 0, column: 0))
    var converter = ValueConverter(spec: spec, origin: { _ in .commandLine(flag: name) })
    let converted: SettingValue?
    switch spec.type {
    case .ipList, .hostList, .domainList, .enumList:
      // Each occurrence of a repeatable flag is one list element.
      converted = converter.listElement(node).map { .strings([$0]) }
    default:
      converted = converter.convert(node)
    }
    diagnostics += converter.diagnostics
    guard let converted else { return }
    overrides.add(key: spec.key, value: converted, flag: name, appending: spec.type.isList)
    if case .integers(let cores) = overrides.assignments.first(where: { $0.key == spec.key })?.value,
      Set(cores).count != cores.count
    {
      error(.duplicateListEntry, "\(name): a CPU is listed more than once", key: spec.key)
    }
  }
}
