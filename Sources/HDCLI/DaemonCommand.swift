// The hyper-derp daemon's command line as a CommandSpec, derived from the
// configuration schema plus the daemon-only flags, for --help and completions.
// (The daemon parses its flags with HDConfig.DaemonCommandLine.)

import HDConfig

public enum DaemonCommand {
  public static let spec = CommandSpec(
    name: "hyper-derp", summary: "DERP relay on io_uring",
    details: """
      Settings come from built-in defaults, then the --config file, then flags (flags win).
      Every flag also takes the --flag=value form. See docs/config-reference.md or
      `hdctl explain KEY` for each setting.
      """,
    options: actionOptions + ConfigSchema.keys.map(option),
    exitCodes: [(0, "clean shutdown, or --check-config found no errors"), (1, "invalid configuration or start-up failure")])

  static var actionOptions: [OptionSpec] {
    DaemonCommandLine.actionFlags.filter { $0.flag != "--help" }.map {
      OptionSpec($0.flag, $0.takesPath ? .path : .none, help: $0.help)
    }
  }

  static func option(_ key: ConfigKeySpec) -> OptionSpec {
    var help = key.doc
    if !key.implemented { help += " NOT IMPLEMENTED YET: only the default is accepted." }
    for old in key.deprecatedFlags { help += " (\(old) is a deprecated alias.)" }
    return OptionSpec(key.flag, kind(of: key.type), repeatable: key.type.isList, valueName: valueName(key), help: help)
  }

  static func kind(of type: SettingType) -> ValueKind {
    switch type {
    case .integer: return .int
    case .boolean: return .none
    case .enumeration: return .enumeration(type.enumValues)
    case .path: return .path
    case .url, .ipList, .cpuList, .hostList, .domainList, .text: return .string
    case .enumList(let values): return .enumeration(values)
    }
  }

  static func valueName(_ key: ConfigKeySpec) -> String? {
    switch key.type {
    case .integer: return key.unit == "bytes" ? "BYTES" : "N"
    case .ipList: return "ADDRESS"
    case .cpuList: return "CPUS"
    case .hostList: return "HOST[:PORT]"
    case .domainList: return "NAME"
    case .text: return "TEXT"
    case .url: return "URL"
    default: return nil
    }
  }

  public static let tool = ToolSpec(name: "hyper-derp", summary: spec.summary, root: spec)
}
