// Walks a YAML tree against the schema: every key is either a schema key (its
// value converted), a section, `mode: derp`, a C++ feature we reject by name,
// or an unknown key (error with a did-you-mean). Nothing is skipped silently.

/// A value for one key and where it came from.
public struct SettingAssignment: Sendable, Equatable {
  public var key: String
  public var value: SettingValue
  public var origin: SettingOrigin
}

struct ConfigDecoder {
  let file: String
  let document: YAMLDocument
  var assignments: [SettingAssignment] = []
  var diagnostics: [Diagnostic] = []

  init(file: String, document: YAMLDocument) {
    self.file = file
    self.document = document
  }

  /// Relative paths in a file mean relative to that file's directory, so the
  /// daemon and `hdctl check-config` agree whatever their working directory.
  func resolve(_ path: String) -> String {
    guard !path.hasPrefix("/"), let slash = file.lastIndex(of: "/") else { return path }
    return String(file[...slash]) + path
  }

  func origin(_ node: YAMLNode) -> SettingOrigin {
    .file(path: file, mark: node.mark, sourceLine: document.sourceLine(node.mark.line))
  }

  private mutating func report(
    _ severity: Severity, _ code: DiagnosticCode, at node: YAMLNode, key: String?, _ message: String,
    suggestion: String? = nil
  ) {
    diagnostics.append(origin(node).diagnostic(severity, code, key: key, message, suggestion: suggestion))
  }

  mutating func decode() {
    // An empty file (or just `---`) means built-in defaults.
    guard let root = document.root, !root.isNull else { return }
    guard case .mapping(let pairs) = root.value else {
      report(
        .error, .rootNotMapping, at: root, key: nil,
        "the top level of a config must be a mapping of keys, found \(root.kindDescription)")
      return
    }
    decodeMapping(pairs, section: nil)
  }

  private mutating func decodeMapping(_ pairs: [YAMLPair], section: String?) {
    var firstLine: [String: Int] = [:]
    for pair in pairs {
      guard let name = pair.key.scalarText else {
        report(
          .error, .nonStringKey, at: pair.key, key: section,
          "keys must be plain names, found \(pair.key.kindDescription)")
        continue
      }
      let path = section.map { "\($0).\(name)" } ?? name
      if let line = firstLine[name] {
        report(
          .error, .duplicateKey, at: pair.key, key: path,
          "duplicate key '\(path)' (first set on line \(line)); remove one of them")
        continue
      }
      firstLine[name] = pair.key.mark.line
      decodeEntry(name: name, path: path, pair: pair, section: section)
    }
  }

  private mutating func decodeEntry(name: String, path: String, pair: YAMLPair, section: String?) {
    // A dotted name (`metrics.port:` at the top level) is not the nested key.
    if !name.contains("."), let spec = ConfigSchema.spec(forKey: path) {
      var converter = ValueConverter(spec: spec, origin: origin)
      var value = converter.convert(pair.value)
      if case .path = spec.type, case .string(let text)? = value { value = .string(resolve(text)) }
      diagnostics += converter.diagnostics
      // Later findings about the value (missing file, port clash) point at the value itself.
      if let value { assignments.append(SettingAssignment(key: path, value: value, origin: origin(pair.value))) }
      return
    }
    if section == nil, ConfigSchema.sections.contains(name) {
      if pair.value.isNull { return }  // `metrics:` with every entry commented out
      guard case .mapping(let children) = pair.value.value else {
        report(
          .error, .typeMismatch, at: pair.value, key: path,
          "'\(name)' is a section and expects a mapping of keys, found \(pair.value.kindDescription)")
        return
      }
      decodeMapping(children, section: name)
      return
    }
    if section == nil, name == "mode" {
      decodeMode(pair)
      return
    }
    if section == nil, let feature = UnsupportedCxxFeatures.key(name) {
      report(
        .error, .unsupportedCxxKey, at: pair.key, key: path,
        "'\(name)' configures \(feature.feature) of the C++ Hyper-DERP, which this implementation does not support",
        suggestion: "remove the '\(name)' section")
      return
    }
    reportUnknown(name: name, path: path, at: pair.key, section: section)
  }

  private mutating func decodeMode(_ pair: YAMLPair) {
    let mode = pair.value.scalarText ?? ""
    if mode == UnsupportedCxxFeatures.supportedMode { return }
    let feature = UnsupportedCxxFeatures.modeFeatures[mode] ?? "the '\(mode)' mode"
    report(
      .error, .unsupportedCxxKey, at: pair.value, key: "mode",
      "mode '\(mode)' selects \(feature) of the C++ Hyper-DERP, which this implementation does not support; only 'derp' runs here",
      suggestion: "remove 'mode' or set it to derp")
  }

  private mutating func reportUnknown(name: String, path: String, at node: YAMLNode, section: String?) {
    let where_ = section.map { "in section '\($0)'" } ?? "at the top level"
    var suggestion: String?
    if let nearby = Suggestions.closest(to: name, among: ConfigSchema.names(inSection: section)) {
      suggestion = "did you mean '\(section.map { "\($0)." } ?? "")\(nearby)'?"
    } else if section == nil, ConfigSchema.spec(forKey: name) != nil, let dot = name.firstIndex(of: ".") {
      suggestion = "write it nested: '\(name[..<dot]):' with '\(name[name.index(after: dot)...]):' indented below"
    } else if let elsewhere = ConfigSchema.keys.first(where: { $0.leafName == name && $0.section != section }) {
      suggestion = "did you mean '\(elsewhere.key)'?"
    }
    report(.error, .unknownKey, at: node, key: path, "unknown key '\(name)' \(where_)", suggestion: suggestion)
  }
}
