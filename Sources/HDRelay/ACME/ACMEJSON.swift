// Reading the CA's JSON answers (objects, strings, arrays) and writing the
// small request bodies ACME needs, on the project's own JSON parser.
import HDProtocol

struct ACMEObject {
  let fields: [(String, JSONValue)]

  init(fields: [(String, JSONValue)]) { self.fields = fields }

  /// Parses a response body that must be a JSON object.
  init(body: [UInt8], what: String) throws(ACMEError) {
    guard let value = try? JSONValue.parse(body), case .object(let fields) = value else {
      throw ACMEError(.protocolViolation, "\(what): the CA's answer is not a JSON object")
    }
    self.fields = fields
  }

  private func value(_ name: String) -> JSONValue? { fields.last { $0.0 == name }?.1 }

  func string(_ name: String) -> String? {
    if case .string(let text)? = value(name) { return text }
    return nil
  }

  func object(_ name: String) -> ACMEObject? {
    if case .object(let fields)? = value(name) { return ACMEObject(fields: fields) }
    return nil
  }

  func objects(_ name: String) -> [ACMEObject] {
    guard case .array(let items)? = value(name) else { return [] }
    return items.compactMap { item in
      if case .object(let fields) = item { return ACMEObject(fields: fields) }
      return nil
    }
  }

  func strings(_ name: String) -> [String] {
    guard case .array(let items)? = value(name) else { return [] }
    return items.compactMap { item in
      if case .string(let text) = item { return text }
      return nil
    }
  }

  func require(_ name: String, _ what: String) throws(ACMEError) -> String {
    guard let text = string(name) else { throw ACMEError(.protocolViolation, "\(what): the CA's answer has no \(name)") }
    return text
  }

  /// An RFC 7807 problem in words: "type: detail" (subproblems appended).
  var problemText: String {
    var text = (string("type") ?? "unknown error") + ": " + (string("detail") ?? "no detail")
    for sub in objects("subproblems") {
      let who = sub.object("identifier")?.string("value").map { " (\($0))" } ?? ""
      text += "; " + (sub.string("type") ?? "?") + who + ": " + (sub.string("detail") ?? "")
    }
    return text
  }
}

enum ACMEJSONText {
  /// `{"a":"x","b":…}` from already-encoded member values, in the given order.
  static func object(_ members: [(String, String)]) -> String {
    "{" + members.map { JSONValue.quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
  }

  static func string(_ text: String) -> String { JSONValue.quote(text) }

  static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
}
