// Turns one YAML node (or one CLI flag value, wrapped as a plain scalar node)
// into a typed SettingValue, or into diagnostics saying exactly what is wrong.

struct ValueConverter {
  let spec: ConfigKeySpec
  /// Places a diagnostic at a node (file position, or the flag on the command line).
  let origin: (YAMLNode) -> SettingOrigin
  var diagnostics: [Diagnostic] = []

  init(spec: ConfigKeySpec, origin: @escaping (YAMLNode) -> SettingOrigin) {
    self.spec = spec
    self.origin = origin
  }

  private mutating func report(
    _ severity: Severity, _ code: DiagnosticCode, at node: YAMLNode, _ message: String,
    suggestion: String? = nil
  ) {
    diagnostics.append(origin(node).diagnostic(severity, code, key: spec.key, message, suggestion: suggestion))
  }

  /// The whole value of the key.
  mutating func convert(_ node: YAMLNode) -> SettingValue? {
    if node.isNull {
      if spec.type.isOptional { return .unset }
      report(.error, .missingValue, at: node, "\(spec.key) has no value; expected \(expectation)")
      return nil
    }
    switch spec.type {
    case .integer(let range):
      return integer(node, range: range).map { .integer($0) }
    case .boolean:
      return boolean(node).map { .boolean($0) }
    case .enumeration(let values, let aliases):
      return enumeration(node, values: values, aliases: aliases).map { .string($0) }
    case .path:
      return path(node).map { .string($0) }
    case .url:
      guard let text = scalar(node) else { return nil }
      switch HTTPURL.parse(text) {
      case .failure(let why):
        report(.error, .invalidURL, at: node, why.description)
        return nil
      case .success:
        return .string(text)
      }
    case .text:
      guard let text = scalar(node) else { return nil }
      guard !text.isEmpty, !text.contains(where: { $0 == "\n" || $0 == "\r" }) else {
        report(.error, .emptyPath, at: node, "\(spec.key) must be one non-empty line; remove the key to leave it unset")
        return nil
      }
      return .string(text)
    case .ipList, .hostList, .domainList, .enumList:
      guard let items = sequence(node) else { return nil }
      var values: [String] = []
      for item in items {
        if let value = listElement(item) { values.append(value) }
      }
      guard values.count == items.count else { return nil }
      return checkDistinct(values, items: items) ? .strings(values) : nil
    case .cpuList(let range):
      return cpuList(node, range: range)
    }
  }

  /// One element of a list-typed key (a repeated CLI flag contributes one element).
  mutating func listElement(_ node: YAMLNode) -> String? {
    guard let text = scalar(node) else { return nil }
    switch spec.type {
    case .ipList:
      guard ValueSyntax.isIPAddress(text) else {
        report(.error, .invalidIPAddress, at: node, "'\(text)' is not an IPv4 or IPv6 address literal")
        return nil
      }
    case .hostList:
      guard ValueSyntax.isHostPort(text) else {
        report(.error, .invalidHostPort, at: node, "'\(text)' is not host, host:port or an http(s) URL")
        return nil
      }
    case .domainList:
      guard ValueSyntax.isDomainName(text) else {
        report(
          .error, .invalidDomainName, at: node,
          "'\(text)' is not a DNS name a CA can issue for (letters, digits, inner hyphens; at least two labels; "
            + "no wildcard, port or trailing dot)")
        return nil
      }
      return text.lowercased()
    case .enumList(let values):
      guard values.contains(text) else {
        let suggestion = Suggestions.closest(to: text, among: values).map { "did you mean '\($0)'?" }
        report(
          .error, .invalidEnum, at: node, "\(spec.key) entries must be one of \(values.joined(separator: ", ")), got '\(text)'",
          suggestion: suggestion)
        return nil
      }
    default:
      break
    }
    return text
  }

  private var expectation: String {
    switch spec.type {
    case .integer(let range): return "an integer in \(range.lowerBound)–\(range.upperBound)"
    case .boolean: return "true or false"
    case .enumeration(let values, _): return "one of \(values.joined(separator: ", "))"
    case .path: return "a file path"
    case .url: return "an http(s) URL"
    case .ipList: return "a list of IP addresses"
    case .cpuList: return "a list of CPU numbers"
    case .hostList: return "a list of host[:port] or URLs"
    case .domainList: return "a list of DNS names"
    case .enumList(let values): return "a list of \(values.joined(separator: ", "))"
    case .text: return "a string"
    }
  }

  private mutating func scalar(_ node: YAMLNode) -> String? {
    guard let text = node.scalarText else {
      report(.error, .typeMismatch, at: node, "\(spec.key) expects \(expectation), found \(node.kindDescription)")
      return nil
    }
    return text
  }

  /// Numbers and booleans must be plain scalars: "3340" in quotes is a string in YAML.
  private mutating func plainScalar(_ node: YAMLNode) -> String? {
    guard let text = scalar(node) else { return nil }
    if case .scalar(_, let plain) = node.value, !plain {
      report(
        .error, .typeMismatch, at: node, "\(spec.key) expects \(expectation), found \(node.kindDescription)",
        suggestion: "write it without quotes (or a !!tag)")
      return nil
    }
    return text
  }

  mutating func integer(_ node: YAMLNode, range: ClosedRange<Int64>) -> Int64? {
    guard let text = plainScalar(node) else { return nil }
    switch ValueSyntax.integer(text) {
    case .malformed(let why):
      report(.error, .invalidInteger, at: node, "\(spec.key): \(why)")
      return nil
    case .overflow:
      report(.error, .outOfRange, at: node, "\(spec.key) must be in \(range.lowerBound)–\(range.upperBound), got \(text)")
      return nil
    case .value(let value):
      guard range.contains(value) else {
        report(.error, .outOfRange, at: node, "\(spec.key) must be in \(range.lowerBound)–\(range.upperBound), got \(value)")
        return nil
      }
      return value
    }
  }

  private mutating func boolean(_ node: YAMLNode) -> Bool? {
    guard let text = plainScalar(node) else { return nil }
    guard let (value, compatibility) = ValueSyntax.boolean(text) else {
      report(.error, .invalidBool, at: node, "\(spec.key) expects true or false, got '\(text)'")
      return nil
    }
    if compatibility {
      report(
        .warning, .boolSpelling, at: node, "'\(text)' is read as \(value); YAML 1.2 and most tools only know true/false",
        suggestion: "write \(value)")
    }
    return value
  }

  private mutating func enumeration(_ node: YAMLNode, values: [String], aliases: [String: String]) -> String? {
    guard let text = scalar(node) else { return nil }
    if values.contains(text) { return text }
    if let canonical = aliases[text] { return canonical }
    let accepted = values + aliases.keys.sorted()
    let suggestion = Suggestions.closest(to: text, among: accepted).map { "did you mean '\($0)'?" }
    report(
      .error, .invalidEnum, at: node,
      "\(spec.key) must be one of \(values.joined(separator: ", ")), got '\(text)'", suggestion: suggestion)
    return nil
  }

  private mutating func path(_ node: YAMLNode) -> String? {
    guard let text = scalar(node) else { return nil }
    guard !text.isEmpty else {
      report(.error, .emptyPath, at: node, "\(spec.key) is an empty path; remove the key to leave it unset")
      return nil
    }
    return text
  }

  private mutating func sequence(_ node: YAMLNode) -> [YAMLNode]? {
    if case .sequence(let items) = node.value { return items }
    report(.error, .typeMismatch, at: node, "\(spec.key) expects \(expectation), found \(node.kindDescription)")
    return nil
  }

  /// A list, a single number, or the C++ form "0,2,4".
  private mutating func cpuList(_ node: YAMLNode, range: ClosedRange<Int64>) -> SettingValue? {
    var cores: [Int] = []
    var items: [YAMLNode] = []
    var ok = true
    switch node.value {
    case .sequence(let elements):
      items = elements
      for element in elements {
        if let core = integer(element, range: range) { cores.append(Int(core)) } else { ok = false }
      }
    case .scalar(let text, _):
      // Every element of the comma form gets the node's own position.
      for part in text.split(separator: ",", omittingEmptySubsequences: false) {
        let element = YAMLNode(
          value: .scalar(part.trimmingSpaces, plain: true), mark: node.mark)
        items.append(element)
        if let core = integer(element, range: range) { cores.append(Int(core)) } else { ok = false }
      }
    case .mapping:
      report(.error, .typeMismatch, at: node, "\(spec.key) expects \(expectation), found a mapping")
      return nil
    }
    guard ok else { return nil }
    let workersMax = 64
    guard cores.count <= workersMax else {
      report(.error, .outOfRange, at: node, "\(spec.key) names \(cores.count) cores; at most \(workersMax) (one per worker)")
      return nil
    }
    return checkDistinct(cores.map(String.init), items: items) ? .integers(cores) : nil
  }

  private mutating func checkDistinct(_ values: [String], items: [YAMLNode]) -> Bool {
    var seen: Set<String> = []
    var distinct = true
    for (index, value) in values.enumerated() where !seen.insert(value).inserted {
      let at = index < items.count ? items[index] : items.last!
      report(.error, .duplicateListEntry, at: at, "\(spec.key) lists '\(value)' more than once")
      distinct = false
    }
    return distinct
  }
}

extension Substring {
  var trimmingSpaces: String {
    String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
  }
}
