// Command definitions: the one description of each command's arguments from
// which parsing, --help text and the bash/zsh/fish completions are derived.

/// What an option or argument takes, which also decides how shells complete it.
public enum ValueKind: Sendable, Equatable {
  /// A switch: no value.
  case none
  case int
  case string
  case path
  case directory
  case enumeration([String])
  /// A configuration key such as `metrics.port`.
  case configKey
}

public struct OptionSpec: Sendable {
  /// Long name including the dashes, e.g. `--format`.
  public let name: String
  public let kind: ValueKind
  /// May be given several times; values accumulate.
  public let repeatable: Bool
  /// Placeholder in help text (`PATH`).
  public let valueName: String
  public let help: String

  public init(_ name: String, _ kind: ValueKind = .none, repeatable: Bool = false, valueName: String? = nil, help: String) {
    self.name = name
    self.kind = kind
    self.repeatable = repeatable
    self.help = help
    switch kind {
    case .none: self.valueName = ""
    case .enumeration(let values): self.valueName = valueName ?? values.joined(separator: "|")
    case .int: self.valueName = valueName ?? "N"
    case .path: self.valueName = valueName ?? "PATH"
    case .directory: self.valueName = valueName ?? "DIR"
    case .configKey: self.valueName = valueName ?? "KEY"
    case .string: self.valueName = valueName ?? "VALUE"
    }
  }

  public var takesValue: Bool { kind != .none }
}

public struct PositionalSpec: Sendable {
  public let name: String
  public let kind: ValueKind
  /// Any number (including none) may be given.
  public let variadic: Bool
  public let optional: Bool
  public let help: String

  public init(_ name: String, _ kind: ValueKind, variadic: Bool = false, optional: Bool = false, help: String) {
    self.name = name
    self.kind = kind
    self.variadic = variadic
    self.optional = optional || variadic
    self.help = help
  }
}

public struct CommandSpec: Sendable {
  public let name: String
  /// One line for command lists.
  public let summary: String
  /// Paragraphs shown in `--help` after the usage line.
  public let details: String
  public let positionals: [PositionalSpec]
  public let options: [OptionSpec]
  public let exitCodes: [(code: Int32, meaning: String)]

  public init(
    name: String, summary: String, details: String = "", positionals: [PositionalSpec] = [],
    options: [OptionSpec] = [], exitCodes: [(code: Int32, meaning: String)] = []
  ) {
    self.name = name
    self.summary = summary
    self.details = details
    self.positionals = positionals
    self.options = options + [OptionSpec("--help", help: "show this help")]
    self.exitCodes = exitCodes
  }

  public func option(named name: String) -> OptionSpec? { options.first { $0.name == name } }
}

/// A program: either a tool with subcommands (hdctl) or a single command (hyper-derp).
public struct ToolSpec: Sendable {
  public let name: String
  public let summary: String
  public let commands: [CommandSpec]
  /// For a program without subcommands: its only command.
  public let root: CommandSpec?

  public init(name: String, summary: String, commands: [CommandSpec] = [], root: CommandSpec? = nil) {
    self.name = name
    self.summary = summary
    self.commands = commands
    self.root = root
  }

  public func command(named name: String) -> CommandSpec? { commands.first { $0.name == name } }
}
