// Hand-written argument parsing against a CommandSpec: `--opt value`,
// `--opt=value`, switches, repeatable options and positionals.

import HDConfig

public struct ParsedArguments: Sendable, Equatable {
  public let command: String
  /// Values per option name; a switch maps to [""] when given.
  public private(set) var options: [String: [String]]
  public private(set) var positionals: [String]

  public init(command: String, options: [String: [String]] = [:], positionals: [String] = []) {
    self.command = command
    self.options = options
    self.positionals = positionals
  }

  public func has(_ name: String) -> Bool { options[name] != nil }
  /// The last value given for `name`.
  public func value(_ name: String) -> String? { options[name]?.last }
  public func values(_ name: String) -> [String] { options[name] ?? [] }

  /// An option or positional the user got wrong; exit code 64 (EX_USAGE).
  public struct UsageError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
  }

  public static let usageExitCode: Int32 = 64

  public static func parse(_ args: [String], for spec: CommandSpec) -> Result<ParsedArguments, UsageError> {
    var parsed = ParsedArguments(command: spec.name)
    var index = 0
    var optionsEnded = false
    while index < args.count {
      let argument = args[index]
      index += 1
      if optionsEnded || !argument.hasPrefix("-") || argument == "-" {
        parsed.positionals.append(argument)
        continue
      }
      if argument == "--" {
        optionsEnded = true
        continue
      }
      var name = argument
      var inline: String?
      if let equals = argument.firstIndex(of: "=") {
        name = String(argument[..<equals])
        inline = String(argument[argument.index(after: equals)...])
      }
      if name == "-h" { name = "--help" }
      guard let option = spec.option(named: name) else {
        let names = spec.options.map(\.name)
        var message = "unknown option '\(name)' for \(spec.name)"
        if let near = closest(name, names) { message += "; did you mean '\(near)'?" }
        return .failure(UsageError(message))
      }
      var value = ""
      if option.takesValue {
        if let inline {
          value = inline
        } else if index < args.count {
          value = args[index]
          index += 1
        } else {
          return .failure(UsageError("\(name) needs a value (\(option.valueName))"))
        }
        if let problem = check(value, option.kind) {
          return .failure(UsageError("\(name): \(problem)"))
        }
      } else if inline != nil {
        return .failure(UsageError("\(name) takes no value"))
      }
      if parsed.options[name] != nil, !option.repeatable, option.takesValue {
        return .failure(UsageError("\(name) may be given only once"))
      }
      parsed.options[name, default: []].append(value)
    }
    if parsed.has("--help") { return .success(parsed) }
    return checkPositionals(parsed, spec)
  }

  private static func checkPositionals(_ parsed: ParsedArguments, _ spec: CommandSpec) -> Result<ParsedArguments, UsageError> {
    let required = spec.positionals.filter { !$0.optional }.count
    let variadic = spec.positionals.contains { $0.variadic }
    if parsed.positionals.count < required {
      let missing = spec.positionals[parsed.positionals.count].name
      return .failure(UsageError("\(spec.name) needs \(missing)"))
    }
    if !variadic, parsed.positionals.count > spec.positionals.count {
      return .failure(UsageError("unexpected argument '\(parsed.positionals[spec.positionals.count])' for \(spec.name)"))
    }
    for (index, positional) in spec.positionals.enumerated() where index < parsed.positionals.count {
      let values = positional.variadic ? Array(parsed.positionals[index...]) : [parsed.positionals[index]]
      for value in values {
        if let problem = check(value, positional.kind) {
          return .failure(UsageError("\(positional.name): \(problem)"))
        }
      }
    }
    return .success(parsed)
  }

  private static func check(_ value: String, _ kind: ValueKind) -> String? {
    switch kind {
    case .int:
      return Int(value) == nil ? "'\(value)' is not an integer" : nil
    case .enumeration(let values):
      return values.contains(value) ? nil : "'\(value)' is not one of \(values.joined(separator: ", "))"
    case .path, .directory, .string, .configKey:
      return value.isEmpty ? "empty value" : nil
    case .none:
      return nil
    }
  }

  static func closest(_ name: String, _ names: [String]) -> String? {
    Suggestions.closest(to: name, among: names)
  }
}

/// What a command handler is: the parsed arguments in, the exit code out.
public typealias CommandHandler = @Sendable (ParsedArguments) -> Int32
