// Reads Headscale's DERP map YAML (what `hdctl derpmap --format headscale`
// writes, or an operator's derp.yaml) into the same model as the JSON form:
// the YAML tree becomes JSON values (plain integers as numbers, true/false as
// booleans, null as null, everything else as strings) and goes through the
// JSON decoder, whose case-insensitive field lookup matches yaml.v3's
// lowercased names (`regionid` → RegionID).
import HDConfig
import HDProtocol

extension DERPMap {
  public static func decode(headscaleYAML bytes: [UInt8], file: String) throws(DERPMapDecodingError) -> DERPMap {
    let (document, diagnostics) = YAMLParser.parse(bytes: bytes, file: file)
    if let problem = diagnostics.first(where: \.isError) {
      throw DERPMapDecodingError("not YAML: " + DiagnosticRenderer.human(problem).trimmingSuffixNewline)
    }
    guard let root = document.root else { throw DERPMapDecodingError("\(file) is empty") }
    return try decode(jsonValue(root))
  }

  static func jsonValue(_ node: YAMLNode) -> JSONValue {
    switch node.value {
    case .mapping(let pairs):
      return .object(pairs.map { ($0.key.scalarText ?? "", jsonValue($0.value)) })
    case .sequence(let items):
      return .array(items.map(jsonValue))
    case .scalar(let text, let plain):
      guard plain else { return .string(text) }
      if node.isNull { return .null }
      if text == "true" { return .bool(true) }
      if text == "false" { return .bool(false) }
      if Int(text) != nil || (Double(text) != nil && text.contains(".")) { return .number(text) }
      return .string(text)
    }
  }
}
