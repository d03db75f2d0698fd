// What this machine says about CPUs and socket buffer limits, read from an
// injectable root so tests can use fixture /sys and /proc trees.

public struct HostFacts: Sendable, Equatable {
  /// CPUs listed in /sys/devices/system/cpu/online; nil when unknown.
  public var onlineCPUs: Set<Int>?
  /// CPUs this process may run on (affinity mask and cpuset), from
  /// /proc/self/status `Cpus_allowed_list`; nil when unknown.
  public var allowedCPUs: Set<Int>?
  /// For each CPU, the SMT siblings sharing its physical core (itself included).
  public var smtSiblings: [Int: Set<Int>]
  /// net.core.rmem_max and wmem_max; nil when unknown.
  public var rmemMaxBytes: Int?
  public var wmemMaxBytes: Int?

  public init(
    onlineCPUs: Set<Int>? = nil, allowedCPUs: Set<Int>? = nil, smtSiblings: [Int: Set<Int>] = [:], rmemMaxBytes: Int? = nil,
    wmemMaxBytes: Int? = nil
  ) {
    self.onlineCPUs = onlineCPUs
    self.allowedCPUs = allowedCPUs
    self.smtSiblings = smtSiblings
    self.rmemMaxBytes = rmemMaxBytes
    self.wmemMaxBytes = wmemMaxBytes
  }

  /// Reads the facts under `root` ("/" for the real host).
  public static func read(root: String = "/") -> HostFacts {
    let base = root.hasSuffix("/") ? String(root.dropLast()) : root
    var facts = HostFacts()
    facts.onlineCPUs = FileAccess.readText(base + "/sys/devices/system/cpu/online").flatMap(parseCPUList)
    facts.allowedCPUs = FileAccess.readText(base + "/proc/self/status").flatMap(parseAllowedCPUs)
    for cpu in (facts.onlineCPUs ?? []).sorted() {
      let topology = base + "/sys/devices/system/cpu/cpu\(cpu)/topology/"
      // core_cpus_list is the current name; thread_siblings_list the older one.
      let text = FileAccess.readText(topology + "core_cpus_list")
        ?? FileAccess.readText(topology + "thread_siblings_list")
      if let siblings = text.flatMap(parseCPUList) { facts.smtSiblings[cpu] = siblings }
    }
    facts.rmemMaxBytes = FileAccess.readText(base + "/proc/sys/net/core/rmem_max").flatMap(parseInt)
    facts.wmemMaxBytes = FileAccess.readText(base + "/proc/sys/net/core/wmem_max").flatMap(parseInt)
    return facts
  }

  private static func parseInt(_ text: String) -> Int? {
    Int(text.trimmingCharacters(in: " \n\t"))
  }

  /// The `Cpus_allowed_list:` line of /proc/PID/status.
  static func parseAllowedCPUs(_ status: String) -> Set<Int>? {
    let prefix = "Cpus_allowed_list:"
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
    return parseCPUList(String(line.dropFirst(prefix.count)))
  }

  /// Parses the kernel's cpulist format: "0-3,5,7-8".
  public static func parseCPUList(_ text: String) -> Set<Int>? {
    CPUList.parse(text).map(Set.init)
  }

  /// Formats CPUs back to the kernel's compact list form; empty text when there are none.
  public static func formatCPUList(_ cpus: Set<Int>) -> String {
    cpus.isEmpty ? "" : CPUList.format(cpus)
  }
}

extension String {
  func trimmingCharacters(in set: String) -> String {
    let skip = Set(set)
    return String(self.drop(while: { skip.contains($0) }).reversed().drop(while: { skip.contains($0) }).reversed())
  }
}
