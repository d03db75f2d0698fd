// The kernel's CPU list text ("0-3,8,10-11"): sysfs online/isolated files, core_cpus_list,
// cgroup cpusets, /proc Cpus_allowed_list, and the lists we print back to operators.
// One parser for the whole package: HDConfig host checks, HDRelay worker plans, HDOps doctor.

public enum CPUList {
  /// Parses a CPU list; nil when the text is not one. Empty text is an empty list.
  public static func parse(_ text: some StringProtocol) -> [Int]? {
    let compact = String(text.filter { !$0.isWhitespace })
    if compact.isEmpty { return [] }
    var cpus = Set<Int>()
    for part in compact.split(separator: ",", omittingEmptySubsequences: false) {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
      switch bounds.count {
      case 1:
        guard let cpu = Int(bounds[0]), cpu >= 0 else { return nil }
        cpus.insert(cpu)
      case 2:
        // A range wider than any real machine is corrupt input, not 65k CPUs.
        guard let low = Int(bounds[0]), let high = Int(bounds[1]), low >= 0, low <= high,
          high - low < 1 << 16
        else { return nil }
        cpus.formUnion(low...high)
      default:
        return nil
      }
    }
    return cpus.sorted()
  }

  /// Formats CPUs with ranges, as the kernel does ("0-3,8"); "none" when empty.
  public static func format(_ cpus: some Sequence<Int>) -> String {
    let sorted = Set(cpus).sorted()
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
