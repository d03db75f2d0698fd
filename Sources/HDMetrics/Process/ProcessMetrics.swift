// The standard Prometheus process metrics (the names client_golang and
// prometheus_client use), read from /proc/self at scrape time.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

struct ProcessMetrics: Equatable {
  var openFileDescriptors: Int
  var maxFileDescriptors: UInt64
  var residentMemoryBytes: UInt64
  var virtualMemoryBytes: UInt64
  var cpuSeconds: Double
  /// Seconds since the Unix epoch at which the process started.
  var startTimeSeconds: Double
  var threads: Int

  /// Reads /proc/self; nil if /proc is not mounted or has an unexpected shape.
  static func read(procRoot: String = "/proc") -> ProcessMetrics? {
    guard let stat = ProcFile.readText("\(procRoot)/self/stat"),
      let fields = statFieldsAfterCommand(stat),
      let bootTime = procRoot == "/proc" ? systemBootTimeSeconds : bootTimeSeconds(procRoot: procRoot),
      let fds = ProcFile.countOpenFileDescriptors(directory: "\(procRoot)/self/fd")
    else { return nil }
    // Field numbers from proc(5), counting from 1; `fields[0]` is field 3 (state).
    func field(_ number: Int) -> UInt64? {
      let index = number - 3
      return index < fields.count ? UInt64(fields[index]) : nil
    }
    let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    let pageBytes = UInt64(sysconf(Int32(_SC_PAGESIZE)))
    guard ticksPerSecond > 0, let userTicks = field(14), let systemTicks = field(15), let threads = field(20),
      let startTicks = field(22), let virtualBytes = field(23), let residentPages = field(24)
    else { return nil }
    var limit = rlimit()
    let maxFds = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? UInt64(limit.rlim_cur) : 0
    return ProcessMetrics(
      openFileDescriptors: fds, maxFileDescriptors: maxFds, residentMemoryBytes: residentPages * pageBytes,
      virtualMemoryBytes: virtualBytes, cpuSeconds: Double(userTicks + systemTicks) / ticksPerSecond,
      startTimeSeconds: bootTime + Double(startTicks) / ticksPerSecond, threads: Int(threads))
  }

  /// The whitespace-separated fields after `(comm)`; comm itself may contain
  /// spaces and parentheses, so split after the last `)`.
  static func statFieldsAfterCommand(_ stat: String) -> [Substring]? {
    guard let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
  }

  /// The boot time never changes, and reading /proc/stat was a sixth of a scrape's cost.
  private static let systemBootTimeSeconds: Double? = bootTimeSeconds(procRoot: "/proc")

  private static func bootTimeSeconds(procRoot: String) -> Double? {
    guard let text = ProcFile.readText("\(procRoot)/stat", limitBytes: 1 << 20) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
      return Double(line.dropFirst("btime ".count).trimmingSpaces())
    }
    return nil
  }
}

extension Substring {
  fileprivate func trimmingSpaces() -> Substring {
    var value = self
    while value.first == " " { value = value.dropFirst() }
    while value.last == " " { value = value.dropLast() }
    return value
  }
}
