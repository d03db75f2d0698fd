// The plan as a table: key, current → proposed, action, reason.

extension SysctlPlan {
  public func table() -> [String] {
    let keyWidth = items.map(\.requirement.key.count).max()! + 2
    let valueWidth = items.map { ($0.current.map(String.init) ?? "absent").count }.max()!
    return items.map { item in
      let current = item.current.map(String.init) ?? "absent"
      let proposed = item.proposed.map(String.init) ?? "-"
      let left = String(repeating: " ", count: valueWidth - current.count) + current
      return "  \(padded(item.requirement.key, keyWidth))\(left) → \(padded(proposed, valueWidth))  \(padded(item.action.rawValue, 7))\(item.requirement.reason)"
    }
  }
}
