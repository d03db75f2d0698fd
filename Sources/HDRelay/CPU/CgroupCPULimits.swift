// CPU limits a cgroup puts on this process: the cpuset (which CPUs) and the
// bandwidth quota (how much CPU time). Both cgroup v2 (unified) and v1 are read,
// because hosts still run hybrid layouts (this CI host: v1 cpuset + empty v2).
// `root` prefixes every path so tests can point at a fixture tree.
import HDConfig

public struct CgroupCPULimits: Sendable, Equatable {
  /// CPUs the cpuset allows; nil when no cpuset applies to this process.
  public var cpuset: [Int]?
  /// Bandwidth quota in CPUs (quota ÷ period, smallest along the hierarchy);
  /// nil when unlimited.
  public var quotaCPUs: Double?

  public init(cpuset: [Int]? = nil, quotaCPUs: Double? = nil) {
    self.cpuset = cpuset
    self.quotaCPUs = quotaCPUs
  }

  /// Reads the limits of the calling process.
  public static func read(root: String = "") -> CgroupCPULimits {
    let memberships = CgroupMembership.parse(HostFile.readText(root + "/proc/self/cgroup") ?? "")
    let mounts = CgroupMount.parse(HostFile.readText(root + "/proc/self/mountinfo") ?? "")
    var limits = CgroupCPULimits()

    if let v2Path = memberships.first(where: { $0.hierarchyID == 0 })?.path,
      let v2Mount = mounts.first(where: { $0.isV2 })
    {
      let dirs = v2Mount.directories(for: v2Path, root: root)
      if let first = dirs.first, let text = HostFile.readText(first + "/cpuset.cpus.effective"),
        let cpus = CPUList.parse(text), !cpus.isEmpty
      {
        limits.cpuset = cpus
      }
      for dir in dirs {
        if let text = HostFile.readText(dir + "/cpu.max"), let cpus = quotaFromCPUMax(text) {
          limits.quotaCPUs = min(limits.quotaCPUs ?? cpus, cpus)
        }
      }
    }

    if let membership = memberships.first(where: { $0.controllers.contains("cpuset") }),
      let mount = mounts.first(where: { !$0.isV2 && $0.superOptions.contains("cpuset") })
    {
      let dirs = mount.directories(for: membership.path, root: root)
      if let first = dirs.first,
        let text = HostFile.readText(first + "/cpuset.effective_cpus")
          ?? HostFile.readText(first + "/cpuset.cpus"),
        let cpus = CPUList.parse(text), !cpus.isEmpty
      {
        limits.cpuset = limits.cpuset.map { Array(Set($0).intersection(cpus)).sorted() } ?? cpus
      }
    }

    if let membership = memberships.first(where: { $0.controllers.contains("cpu") }),
      let mount = mounts.first(where: { !$0.isV2 && $0.superOptions.contains("cpu") })
    {
      for dir in mount.directories(for: membership.path, root: root) {
        guard let quotaText = HostFile.readText(dir + "/cpu.cfs_quota_us"),
          let periodText = HostFile.readText(dir + "/cpu.cfs_period_us"),
          let quota = Int(HostFile.trimmed(quotaText)), let period = Int(HostFile.trimmed(periodText)),
          quota > 0, period > 0
        else { continue }
        let cpus = Double(quota) / Double(period)
        limits.quotaCPUs = min(limits.quotaCPUs ?? cpus, cpus)
      }
    }
    return limits
  }

  /// `cpu.max` is "max 100000" (unlimited) or "<quota> <period>" in microseconds.
  static func quotaFromCPUMax(_ text: String) -> Double? {
    let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
    guard fields.count == 2, let quota = Int(fields[0]), let period = Int(fields[1]),
      quota > 0, period > 0
    else { return nil }
    return Double(quota) / Double(period)
  }
}

/// One line of /proc/self/cgroup: "hierarchy-id:controller,list:/path".
struct CgroupMembership {
  var hierarchyID: Int
  var controllers: [String]
  var path: String

  static func parse(_ text: String) -> [CgroupMembership] {
    text.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
      guard fields.count == 3, let id = Int(fields[0]) else { return nil }
      let controllers = fields[1].split(separator: ",").map(String.init)
      return CgroupMembership(hierarchyID: id, controllers: controllers, path: String(fields[2]))
    }
  }
}

/// A cgroup filesystem mount from /proc/self/mountinfo.
struct CgroupMount {
  /// The cgroup path that is the root of this mount (not "/" inside containers
  /// that bind-mount their own cgroup).
  var mountRoot: String
  var mountPoint: String
  var isV2: Bool
  var superOptions: [String]

  static func parse(_ text: String) -> [CgroupMount] {
    text.split(separator: "\n").compactMap { line in
      let halves = line.split(separator: " - ", maxSplits: 1).map(String.init)
      guard halves.count == 2 else { return nil }
      let left = halves[0].split(separator: " ")
      let right = halves[1].split(separator: " ")
      guard left.count >= 5, right.count >= 3 else { return nil }
      let fsType = right[0]
      guard fsType == "cgroup" || fsType == "cgroup2" else { return nil }
      return CgroupMount(
        mountRoot: String(left[3]), mountPoint: unescapeMountPath(String(left[4])),
        isV2: fsType == "cgroup2", superOptions: right[2].split(separator: ",").map(String.init))
    }
  }

  /// The directories of `cgroupPath` and its ancestors inside this mount,
  /// innermost first; parents limit children, so quotas are checked on each.
  func directories(for cgroupPath: String, root: String) -> [String] {
    var relative = "/"
    if mountRoot == "/" {
      relative = cgroupPath
    } else if cgroupPath.hasPrefix(mountRoot) {
      relative = String(cgroupPath.dropFirst(mountRoot.count))
    }
    var components = relative.split(separator: "/").map(String.init)
    var dirs: [String] = []
    while true {
      let suffix = components.isEmpty ? "" : "/" + components.joined(separator: "/")
      dirs.append(root + mountPoint + suffix)
      if components.isEmpty { break }
      components.removeLast()
    }
    return dirs
  }

  /// mountinfo escapes space, tab, newline and backslash as octal "\040".
  static func unescapeMountPath(_ text: String) -> String {
    guard text.contains("\\") else { return text }
    var out: [UInt8] = []
    let bytes = Array(text.utf8)
    var i = 0
    while i < bytes.count {
      if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
        let value = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
      {
        out.append(value)
        i += 4
      } else {
        out.append(bytes[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
