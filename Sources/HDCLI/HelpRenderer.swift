// --help text from command definitions.

public enum HelpRenderer {
  public static func usageLine(_ tool: ToolSpec, _ command: CommandSpec) -> String {
    var parts = [tool.root == nil ? "\(tool.name) \(command.name)" : tool.name]
    for positional in command.positionals {
      let name = positional.variadic ? "\(positional.name)..." : positional.name
      parts.append(positional.optional ? "[\(name)]" : name)
    }
    if command.options.count > 1 { parts.append("[OPTIONS]") }
    return "Usage: " + parts.joined(separator: " ")
  }

  public static func commandHelp(_ tool: ToolSpec, _ command: CommandSpec) -> String {
    var out = "\(tool.root == nil ? "\(tool.name) \(command.name)" : tool.name): \(command.summary)\n\n"
    out += usageLine(tool, command) + "\n"
    if !command.details.isEmpty { out += "\n" + command.details + "\n" }
    if !command.positionals.isEmpty {
      out += "\nArguments:\n"
      out += table(command.positionals.map { ($0.variadic ? "\($0.name)..." : $0.name, $0.help) })
    }
    out += "\nOptions:\n"
    out += table(command.options.map { option in
      var left = option.name
      if option.takesValue { left += " \(option.valueName)" }
      return (left, option.help + (option.repeatable ? " (repeatable)" : ""))
    })
    if !command.exitCodes.isEmpty {
      out += "\nExit codes:\n"
      out += table(command.exitCodes.map { (String($0.code), $0.meaning) })
    }
    return out
  }

  public static func toolHelp(_ tool: ToolSpec) -> String {
    if let root = tool.root { return commandHelp(tool, root) }
    var out = "\(tool.name): \(tool.summary)\n\nUsage: \(tool.name) COMMAND [OPTIONS]\n\nCommands:\n"
    out += table(tool.commands.map { ($0.name, $0.summary) })
    out += "\nRun '\(tool.name) COMMAND --help' for the options of a command.\n"
    return out
  }

  static func table(_ rows: [(String, String)]) -> String {
    let width = min(28, (rows.map(\.0.count).max() ?? 0) + 2)
    return rows.map { left, right in
      let pad = left.count + 2 <= width ? String(repeating: " ", count: width - left.count) : "\n  " + String(repeating: " ", count: width)
      return "  " + left + pad + right + "\n"
    }.joined()
  }
}
