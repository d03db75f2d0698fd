// `hdctl explain KEY`: the reference entry of one key as plain text.

extension ConfigKeySpec {
  public var explanation: String {
    var out = "\(key)\(lineage == .new ? " (new)" : "")\n"
    out += "  \(doc)\n\n"
    out += "  type:     \(type.typeDescription)\(unit.map { " (\($0))" } ?? "")\n"
    out += "  default:  \(defaultDescription)\n"
    if !rangeDescription.isEmpty { out += "  values:   \(rangeDescription)\n" }
    out += "  flag:     \(flag)\(type.isList ? " (repeatable)" : "")\n"
    for old in deprecatedFlags { out += "  alias:    \(old) (deprecated, warns)\n" }
    out += "  origin:   \(lineage == .new ? "new in this implementation" : "same as the C++ Hyper-DERP")\n"
    if !implemented { out += "  status:   not implemented yet; a non-default value stops the daemon from starting\n" }
    return out
  }
}
