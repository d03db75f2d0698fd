// The installed systemd unit of the relay, as far as binding ports goes: who
// it runs as and which capabilities it hands the relay. The relay usually runs
// under the unit, not as the user who runs doctor, so its answer counts.
import HDConfig

struct InstalledServiceUnit: Sendable, Equatable {
  /// Host path of the unit file read (drop-ins are folded in).
  var path: String
  /// "root" when neither User= nor DynamicUser= moves it off root.
  var user: String
  var ambientCapabilities: Set<String>

  var runsAsRoot: Bool { user == "root" || user == "0" }

  /// Where systemd looks, most specific first.
  static let unitPaths = [
    "/etc/systemd/system/hyper-derp.service", "/usr/local/lib/systemd/system/hyper-derp.service",
    "/usr/lib/systemd/system/hyper-derp.service", "/lib/systemd/system/hyper-derp.service",
  ]

  static func read(root: FileSystemRoot) -> InstalledServiceUnit? {
    guard let path = unitPaths.first(where: { root.exists($0) }), let text = root.readText(path) else { return nil }
    let dropIns = "/etc/systemd/system/hyper-derp.service.d"
    let extra = root.list(dropIns).filter { $0.hasSuffix(".conf") }.compactMap { root.readText(dropIns + "/" + $0) }
    var unit = InstalledServiceUnit(path: path, user: "root", ambientCapabilities: [])
    var dynamicUser = false
    for line in ([text] + extra).joined(separator: "\n").split(separator: "\n") {
      guard let equals = line.firstIndex(of: "=") else { continue }
      let key = line[..<equals].trimmingWhitespace()
      let value = line[line.index(after: equals)...].trimmingWhitespace()
      switch key {
      case "User": unit.user = value.isEmpty ? "root" : value
      case "DynamicUser": dynamicUser = ["yes", "true", "1", "on"].contains(value.lowercased())
      case "AmbientCapabilities":
        // An empty assignment resets the list; "~" inverts it (rare: treat as none).
        if value.isEmpty || value.hasPrefix("~") {
          unit.ambientCapabilities = []
        } else {
          unit.ambientCapabilities.formUnion(value.split(separator: " ").map { String($0).uppercased() })
        }
      default: continue
      }
    }
    if dynamicUser && unit.runsAsRoot { unit.user = "a DynamicUser" }
    return unit
  }
}
