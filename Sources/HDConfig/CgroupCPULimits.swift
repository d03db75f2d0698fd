// CPU limits a cgroup puts on this process: the cpuset (which CPUs) and the
// bandwidth quota (how much CPU time). cgroup v2 is read first, then v1, since
// hosts still run hybrid layouts (this CI host: v1 cpuset and cpu, empty v2).
// Each value remembers the file it came from, for the reasoning hdctl prints.
// One reader for the relay (how many workers) and hdctl (recommend, doctor):
// they must agree. Every path goes through a `HostFileTree`, so both run
// against fixture trees.

/// Read access to the host's files, by absolute host path.
public protocol HostFileTree {
  func readText(_ hostPath: String) -> String?
  func isDirectory(_ hostPath: String) -> Bool
}

extension HostFileTree {
  /// The file's text without surrounding whitespace (procfs and sysfs values).
  func readValue(_ hostPath: String) -> String? {
    readText(hostPath).map { text in
      String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
  }

  func readInt(_ hostPath: String) -> Int? { readValue(hostPath).flatMap { Int($0) } }
  func exists(_ hostPath: String) -> Bool { readText(hostPath) != nil || isDirectory(hostPath) }
}

/// The host's files under `root` ("" = the real root).
public struct RootedHostFiles: HostFileTree, Sendable {
  public let root: String
  public init(root: String = "") { self.root = root }
  public func readText(_ hostPath: String) -> String? { FileAccess.readText(root + hostPath) }
  public func isDirectory(_ hostPath: String) -> Bool { FileAccess.isDirectory(root + hostPath) }
}

public struct CgroupCPULimits: Sendable, Equatable {
  /// CPUs the cpuset allows; nil when no cpuset file applies.
  public var cpuset: [Int]?
  public var cpusetSource: String?
  /// quota ÷ period in CPUs (smallest along the hierarchy); nil = unlimited.
  public var quotaCPUs: Double?
  public var quotaSource: String?

  public init(cpuset: [Int]? = nil, cpusetSource: String? = nil, quotaCPUs: Double? = nil, quotaSource: String? = nil) {
    self.cpuset = cpuset
    self.cpusetSource = cpusetSource
    self.quotaCPUs = quotaCPUs
    self.quotaSource = quotaSource
  }

  /// The limits of the calling process, with every path under `root`.
  public static func read(root: String = "") -> CgroupCPULimits { read(files: RootedHostFiles(root: root)) }

  public static func read(files: some HostFileTree) -> CgroupCPULimits {
    let memberships = CgroupMembership.parse(files.readText("/proc/self/cgroup") ?? "")
    let mounts = CgroupMount.parse(files.readText("/proc/self/mountinfo") ?? "")
    var limits = CgroupCPULimits()

    if let path = memberships.first(where: { $0.hierarchyID == 0 })?.path,
      let mount = mounts.first(where: { $0.isV2 })
    {
      let dirs = mount.directories(for: path, files: files)
      if let dir = dirs.first(where: { files.exists($0 + "/cpuset.cpus.effective") }),
        let cpus = files.readValue(dir + "/cpuset.cpus.effective").flatMap({ CPUList.parse($0) }), !cpus.isEmpty
      {
        limits.cpuset = cpus
        limits.cpusetSource = dir + "/cpuset.cpus.effective"
      }
      for dir in dirs {
        if let text = files.readValue(dir + "/cpu.max"), let cpus = quota(fromCPUMax: text) {
          limits.lowerQuota(cpus, source: dir + "/cpu.max")
        }
      }
    }

    if limits.cpuset == nil,
      let membership = memberships.first(where: { $0.controllers.contains("cpuset") }),
      let mount = mounts.first(where: { !$0.isV2 && $0.superOptions.contains("cpuset") })
    {
      for dir in mount.directories(for: membership.path, files: files) {
        let file = files.exists(dir + "/cpuset.effective_cpus") ? dir + "/cpuset.effective_cpus" : dir + "/cpuset.cpus"
        if let cpus = files.readValue(file).flatMap({ CPUList.parse($0) }), !cpus.isEmpty {
          limits.cpuset = cpus
          limits.cpusetSource = file
          break
        }
      }
    }

    if limits.quotaCPUs == nil,
      let membership = memberships.first(where: { $0.controllers.contains("cpu") }),
      let mount = mounts.first(where: { !$0.isV2 && $0.superOptions.contains("cpu") })
    {
      for dir in mount.directories(for: membership.path, files: files) {
        guard let quota = files.readInt(dir + "/cpu.cfs_quota_us"), let period = files.readInt(dir + "/cpu.cfs_period_us"),
          quota > 0, period > 0
        else { continue }
        limits.lowerQuota(Double(quota) / Double(period), source: dir + "/cpu.cfs_quota_us")
      }
    }
    return limits
  }

  private mutating func lowerQuota(_ cpus: Double, source: String) {
    if quotaCPUs == nil || cpus < quotaCPUs! {
      quotaCPUs = cpus
      quotaSource = source
    }
  }

  /// `cpu.max` is "max 100000" (unlimited) or "<quota> <period>" in microseconds.
  static func quota(fromCPUMax text: String) -> Double? {
    let fields = text.split(whereSeparator: \.isWhitespace)
    guard fields.count == 2, let quota = Int(fields[0]), let period = Int(fields[1]), quota > 0, period > 0 else {
      return nil
    }
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
      return CgroupMembership(
        hierarchyID: id, controllers: fields[1].split(separator: ",").map(String.init), path: String(fields[2]))
    }
  }
}

/// A cgroup file system mount from /proc/self/mountinfo.
struct CgroupMount {
  /// The cgroup path at the root of this mount ("/" unless a container
  /// bind-mounted a sub-tree).
  var mountRoot: String
  var mountPoint: String
  var isV2: Bool
  var superOptions: [String]

  static func parse(_ text: String) -> [CgroupMount] {
    text.split(separator: "\n").compactMap { line in
      // Optional fields end at a lone "-"; the file system type follows it.
      let fields = line.split(separator: " ")
      guard let dash = fields.firstIndex(of: "-") else { return nil }
      let left = fields[..<dash]
      let right = Array(fields[(dash + 1)...])
      guard left.count >= 5, right.count >= 3 else { return nil }
      let type = right[0]
      guard type == "cgroup" || type == "cgroup2" else { return nil }
      return CgroupMount(
        mountRoot: unescapeMountPath(String(left[left.startIndex + 3])),
        mountPoint: unescapeMountPath(String(left[left.startIndex + 4])), isV2: type == "cgroup2",
        superOptions: right[2].split(separator: ",").map(String.init))
    }
  }

  /// The process's cgroup directory under this mount and its ancestors up to
  /// the mount point, innermost first, keeping only directories that exist:
  /// inside a cgroup namespace the path in /proc/self/cgroup may not exist
  /// under the mount, and then the mount point is the process's cgroup.
  func directories(for cgroupPath: String, files: some HostFileTree) -> [String] {
    var relative = cgroupPath
    if mountRoot != "/" && relative.hasPrefix(mountRoot) { relative.removeFirst(mountRoot.count) }
    if !relative.hasPrefix("/") { relative = "/" + relative }
    var dirs: [String] = []
    var current = relative == "/" ? mountPoint : mountPoint + relative
    while current.count > mountPoint.count && current.hasPrefix(mountPoint + "/") {
      if files.isDirectory(current) { dirs.append(current) }
      let slash = current.lastIndex(of: "/")!
      current = String(current[..<slash])
    }
    dirs.append(mountPoint)
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
