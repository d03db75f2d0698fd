// CPU time and memory of another process (the relay) from /proc/PID, read
// before and after a run so relay cost per GB can be reported.
@preconcurrency import Glibc

struct ProcessSample: Sendable {
  /// utime + stime of all threads, seconds.
  var cpuSeconds: Double
  /// The stime part: time in the kernel (system calls, TCP, io_uring work).
  var systemSeconds: Double = 0
  /// Resident set size, bytes.
  var rssBytes: UInt64
  var threads: Int
}

enum ProcessStats {
  static let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

  static func sample(pid: Int32) -> ProcessSample? {
    guard let stat = readText("/proc/\(pid)/stat") else { return nil }
    // Fields after the command name (which may contain spaces) follow the last ')'.
    guard let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // fields[0] is state (field 3); utime is field 14, stime 15, threads 20, rss 24 (pages).
    guard fields.count > 21, let utime = Double(fields[11]), let stime = Double(fields[12]),
      let threads = Int(fields[17]), let rssPages = UInt64(fields[21])
    else { return nil }
    return ProcessSample(cpuSeconds: (utime + stime) / clockTicksPerSecond, systemSeconds: stime / clockTicksPerSecond,
                         rssBytes: rssPages * UInt64(sysconf(Int32(_SC_PAGESIZE))), threads: threads)
  }

  /// A whole (small) file, e.g. a result JSON or the benchmarks document.
  static func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
    guard n > 0 else { return nil }
    return String(decoding: buffer[0..<n], as: UTF8.self)
  }
}
