// Builds a YAMLNode tree from libyaml's event stream. Event parsing (rather than
// libyaml's document loader) lets us keep every node's mark, see duplicate keys
// (the validator reports them) and refuse aliases, and the tree is built with an
// explicit stack so hostile nesting cannot overflow the call stack.

import CYAML

public enum YAMLParser {
  /// Deeper nesting than any valid config needs; beyond it input is rejected.
  public static let nestingDepthMax = 64

  /// Parses `text`; on failure the diagnostics say why and `root` is nil.
  public static func parse(_ text: String, file: String) -> (YAMLDocument, [Diagnostic]) {
    parse(bytes: Array(text.utf8), file: file)
  }

  /// Parses raw file bytes, so libyaml itself reports invalid UTF-8.
  public static func parse(bytes input: [UInt8], file: String) -> (YAMLDocument, [Diagnostic]) {
    let lines = splitLines(String(decoding: input, as: UTF8.self))
    var document = YAMLDocument(root: nil, lines: lines)
    var bytes = input
    if bytes.isEmpty { bytes.append(0x0A) }  // libyaml wants a non-null buffer
    let outcome = bytes.withUnsafeBufferPointer { buffer in
      parseEvents(buffer, file: file, document: document)
    }
    document.root = outcome.root
    return (document, outcome.diagnostics)
  }

  /// Splits like libyaml counts lines: LF, CR, CR LF, NEL, LS and PS all end a line.
  static func splitLines(_ text: String) -> [String] {
    var lines: [String] = []
    var current = String.UnicodeScalarView()
    var previousWasCR = false
    for scalar in text.unicodeScalars {
      if scalar == "\n" && previousWasCR {
        previousWasCR = false
        continue
      }
      previousWasCR = scalar == "\r"
      if scalar == "\n" || scalar == "\r" || scalar == "\u{85}" || scalar == "\u{2028}" || scalar == "\u{2029}" {
        lines.append(String(current))
        current = String.UnicodeScalarView()
      } else {
        current.append(scalar)
      }
    }
    if !current.isEmpty { lines.append(String(current)) }
    return lines
  }

  private enum Frame {
    case mapping(YAMLMark, [YAMLPair], pendingKey: YAMLNode?)
    case sequence(YAMLMark, [YAMLNode])
  }

  private struct Outcome {
    var root: YAMLNode?
    var diagnostics: [Diagnostic]
  }

  /// libyaml's mark, 1-based. At the end of a file whose last line has no
  /// line break libyaml forces one, so an error there (an unclosed `[`)
  /// named a line after the last (found by the config-yaml fuzz target);
  /// that position is the end of the last line.
  private static func mark(_ m: yaml_mark_t, in buffer: UnsafeBufferPointer<UInt8>) -> YAMLMark {
    // libyaml's index counts characters, not bytes: compare lines instead.
    guard m.column == 0, Int(m.line) > lineBreakCount(buffer) else {
      return YAMLMark(line: Int(m.line) + 1, column: Int(m.column) + 1)
    }
    var characters = 0
    var index = buffer.count - 1
    while index >= 0 && !endsLineBreak(buffer, at: index) {
      if buffer[index] & 0xC0 != 0x80 { characters += 1 }  // not a UTF-8 continuation byte
      index -= 1
    }
    return YAMLMark(line: Int(m.line), column: characters + 1)
  }

  /// YAML line breaks in the file (CRLF counts once).
  private static func lineBreakCount(_ buffer: UnsafeBufferPointer<UInt8>) -> Int {
    var breaks = 0
    for index in buffer.indices where endsLineBreak(buffer, at: index) {
      // The CR of a CRLF is not a break of its own.
      if buffer[index] == 0x0D && index + 1 < buffer.count && buffer[index + 1] == 0x0A { continue }
      breaks += 1
    }
    return breaks
  }

  /// A YAML line break (LF, CR, NEL, LS, PS) ends at `index`.
  private static func endsLineBreak(_ buffer: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
    switch buffer[index] {
    case 0x0A, 0x0D: return true
    case 0x85: return index >= 1 && buffer[index - 1] == 0xC2
    case 0xA8, 0xA9: return index >= 2 && buffer[index - 1] == 0x80 && buffer[index - 2] == 0xE2
    default: return false
    }
  }

  private static func position(ofByte offset: Int, in buffer: UnsafeBufferPointer<UInt8>) -> YAMLMark {
    var line = 1
    var lineStart = 0
    for index in 0..<min(offset, buffer.count) where buffer[index] == 0x0A {
      line += 1
      lineStart = index + 1
    }
    return YAMLMark(line: line, column: max(1, offset - lineStart + 1))
  }

  private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?, _ length: Int) -> String {
    guard let pointer, length > 0 else { return "" }
    return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
  }

  private static func cString(_ pointer: UnsafePointer<CChar>?) -> String? {
    guard let pointer else { return nil }
    return String(cString: pointer)
  }

  private static func parseEvents(
    _ buffer: UnsafeBufferPointer<UInt8>, file: String, document: YAMLDocument
  ) -> Outcome {
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) != 0 else {
      return Outcome(root: nil, diagnostics: [
        Diagnostic(severity: .error, code: .yamlSyntax, file: file, message: "cannot initialise the YAML parser")
      ])
    }
    defer { yaml_parser_delete(&parser) }
    yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)

    func failure(_ code: DiagnosticCode, _ at: YAMLMark, _ message: String) -> Outcome {
      Outcome(root: nil, diagnostics: [
        Diagnostic(
          severity: .error, code: code, file: file, line: at.line, column: at.column,
          message: message, sourceLine: document.sourceLine(at.line))
      ])
    }

    var stack: [Frame] = []
    var root: YAMLNode?
    var documentCount = 0
    var event = yaml_event_t()

    while true {
      guard yaml_parser_parse(&parser, &event) != 0 else {
        let problem = cString(parser.problem) ?? "invalid YAML"
        var message = "YAML syntax error: \(problem)"
        if let context = cString(parser.context) { message += " \(context)" }
        // Reader errors (bad encoding) carry a byte offset instead of a mark.
        let at = parser.error == YAML_READER_ERROR
          ? position(ofByte: parser.problem_offset, in: buffer) : mark(parser.problem_mark, in: buffer)
        return failure(.yamlSyntax, at, message)
      }
      defer { yaml_event_delete(&event) }
      let at = mark(event.start_mark, in: buffer)
      var completed: YAMLNode?

      switch event.type {
      case YAML_STREAM_END_EVENT:
        return Outcome(root: root, diagnostics: [])
      case YAML_DOCUMENT_START_EVENT:
        documentCount += 1
        if documentCount > 1 {
          return failure(
            .multipleDocuments, at, "the file holds more than one YAML document; a config is one document")
        }
      case YAML_ALIAS_EVENT:
        return failure(.yamlAliasUnsupported, at, "YAML aliases (*name) are not supported in a config; write the value out")
      case YAML_SCALAR_EVENT:
        let scalar = event.data.scalar
        let text = string(scalar.value, scalar.length)
        let plain = scalar.style == YAML_PLAIN_SCALAR_STYLE && scalar.tag == nil
        completed = YAMLNode(value: .scalar(text, plain: plain), mark: at)
      case YAML_MAPPING_START_EVENT, YAML_SEQUENCE_START_EVENT:
        if stack.count >= nestingDepthMax {
          return failure(.yamlNestingTooDeep, at, "YAML nesting deeper than \(nestingDepthMax) levels")
        }
        stack.append(
          event.type == YAML_MAPPING_START_EVENT ? .mapping(at, [], pendingKey: nil) : .sequence(at, []))
      case YAML_MAPPING_END_EVENT, YAML_SEQUENCE_END_EVENT:
        switch stack.removeLast() {
        case .mapping(let start, let pairs, _):
          completed = YAMLNode(value: .mapping(pairs), mark: start)
        case .sequence(let start, let items):
          completed = YAMLNode(value: .sequence(items), mark: start)
        }
      default:
        break  // stream start, document end: nothing to build
      }

      guard let node = completed else { continue }
      guard let top = stack.popLast() else {
        root = node
        continue
      }
      switch top {
      case .mapping(let start, var pairs, let pendingKey):
        if let key = pendingKey {
          pairs.append(YAMLPair(key: key, value: node))
          stack.append(.mapping(start, pairs, pendingKey: nil))
        } else {
          stack.append(.mapping(start, pairs, pendingKey: node))
        }
      case .sequence(let start, var items):
        items.append(node)
        stack.append(.sequence(start, items))
      }
    }
  }
}
