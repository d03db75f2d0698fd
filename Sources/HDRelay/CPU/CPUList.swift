// The kernel's CPU list text ("0-3,8,10-11"), used by /sys/devices/system/cpu/online,
// cgroup cpuset files and our own log lines.

public enum CPUList {
  /// Parses a CPU list; nil when the text is not one. Empty text is an empty list.
  public static func parse(_ text: some StringProtocol) -> [Int]? {
    var cpus: [Int] = []
    let trimmed = String(text.filter { !$0.isWhitespace })
    if trimmed.isEmpty { return [] }
    for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
      switch bounds.count {
      case 1:
        guard let cpu = Int(bounds[0]), cpu >= 0 else { return nil }
        cpus.append(cpu)
      case 2:
        guard let low = Int(bounds[0]), let high = Int(bounds[1]), low >= 0, low <= high,
          high - low < 1 << 16
        else { return nil }
        cpus.append(contentsOf: low...high)
      default:
        return nil
      }
    }
    return Array(Set(cpus)).sorted()
  }

  /// Formats CPUs as the kernel does, with ranges ("0-3,8").
  public static func format(_ cpus: [Int]) -> String {
    let sorted = Array(Set(cpus)).sorted()
    var parts: [String] = []
    var index = 0
    while index < sorted.count {
      var end = index
      while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
      parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
      index = end + 1
    }
    return parts.isEmpty ? "none" : parts.joined(separator: ",")
  }
}
