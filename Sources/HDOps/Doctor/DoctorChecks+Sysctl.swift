// Sysctl checks: the same plan `hdctl tune` would carry out, read as warnings
// (a low limit degrades the relay; it does not stop it).

extension DoctorChecks {
  static func sysctl(_ key: String, _ context: DoctorContext) -> CheckOutcome {
    guard let item = context.plan.item(key) else {
      return .skipped("\(key) is not part of the plan")
    }
    let requirement = item.requirement
    guard let current = item.current else {
      return .warning(
        "\(key) does not exist on this kernel (\(requirement.procPath) missing)",
        fix: "check that \(requirement.procPath) exists in this namespace; containers often hide /proc/sys")
    }
    guard let needed = requirement.value else {
      return .ok("\(key) = \(current); \(requirement.reason)")
    }
    switch item.action {
    case .raise:
      return .warning(
        "\(key) = \(current) < \(needed): \(requirement.reason)",
        fix: "sysctl -w \(key)=\(needed)   # persist: hdctl tune --apply --persist")
    default:
      return .ok("\(key) = \(current) ≥ \(needed)")
    }
  }
}
