// The two files `hdctl tune --persist` owns. Both names sort before Debian's
// 99-sysctl.conf (→ /etc/sysctl.conf), so an admin's own sysctl.conf still wins.

public enum PersistedFiles {
  public static let sysctlDropIn = "/etc/sysctl.d/60-hyper-derp.conf"
  public static let modulesLoad = "/etc/modules-load.d/hyper-derp.conf"
  /// Values and files as they were before tune changed them, for --revert.
  public static let originals = "/var/lib/hyper-derp/tune-originals.json"

  /// The sysctl.d drop-in for a plan: every key the relay needs and nothing
  /// on the host already exceeds, each with its reason.
  public static func sysctlDropInText(_ plan: SysctlPlan) -> String {
    var lines = [
      "# Kernel settings for hyper-derp, written by `hdctl tune --persist`.",
      "# `hdctl tune --revert` removes this file. Values only ever raise limits;",
      "# keys the host already sets higher are left out.",
    ]
    for item in plan.items where item.persists {
      lines.append("")
      lines.append("# \(item.requirement.reason)")
      lines.append("\(item.requirement.key) = \(item.requirement.value!)")
    }
    let skipped = plan.items.filter { !$0.persists && $0.requirement.value != nil && $0.current != nil }
    if !skipped.isEmpty {
      lines.append("")
      for item in skipped {
        lines.append("# \(item.requirement.key): host has \(item.current!) ≥ \(item.requirement.value!), left alone")
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// modules-load.d: load the kernel TLS module at boot (systemd-modules-load).
  public static let modulesLoadText = "# Kernel TLS for hyper-derp, written by `hdctl tune --persist`.\ntls\n"
}
