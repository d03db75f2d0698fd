// The daemon's log output: one place that knows the level, the line format and
// where lines go. Relay workers, the metrics server and the daemon share one
// sink, so SIGHUP can change the level for all of them at once. Off the hot
// path only: formatting allocates.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import HDConfig
import Synchronization

/// Where formatted lines go.
public enum LogOutput: Sendable {
  /// A file descriptor (stderr by default); each line is one write(2) so lines
  /// from different threads never interleave.
  case fileDescriptor(Int32)
  /// Tests: each complete line (with its trailing newline) is handed to the closure.
  case capture(@Sendable (String) -> Void)
}

public final class LogSink: Sendable {
  /// The process-wide sink the daemon configures from `log_level`/`log_format`.
  public static let standard = LogSink(level: .info, format: .text, output: .fileDescriptor(2))

  private let levelRank: Atomic<Int>
  private let jsonFormat: Atomic<Bool>
  private let output: Mutex<LogOutput>

  public init(level: LogLevel, format: LogFormat, output: LogOutput) {
    levelRank = Atomic(LogSink.rank(of: level))
    jsonFormat = Atomic(format == .json)
    self.output = Mutex(output)
  }

  public var level: LogLevel { LogSink.level(ofRank: levelRank.load(ordering: .relaxed)) }
  public var format: LogFormat { jsonFormat.load(ordering: .relaxed) ? .json : .text }

  /// Takes effect for the next line logged by any thread.
  public func setLevel(_ level: LogLevel) {
    levelRank.store(LogSink.rank(of: level), ordering: .relaxed)
  }

  public func setFormat(_ format: LogFormat) {
    jsonFormat.store(format == .json, ordering: .relaxed)
  }

  public func setOutput(_ newOutput: LogOutput) {
    output.withLock { $0 = newOutput }
  }

  /// True when a message at `level` would be written; lets callers skip building it.
  @inline(__always)
  public func isEnabled(_ level: LogLevel) -> Bool {
    level != .off && LogSink.rank(of: level) >= levelRank.load(ordering: .relaxed)
  }

  public func write(
    level: LogLevel, label: String, message: String, fields: [(key: String, value: String)]
  ) {
    guard isEnabled(level) else { return }
    let timestamp = LogTimestamp.nowUTC()
    let line =
      jsonFormat.load(ordering: .relaxed)
      ? LogLineFormat.json(timestamp: timestamp, level: level, label: label, message: message, fields: fields)
      : LogLineFormat.text(timestamp: timestamp, level: level, label: label, message: message, fields: fields)
    output.withLock { output in
      switch output {
      case .fileDescriptor(let fd):
        LogSink.writeAll(fd: fd, line)
      case .capture(let body):
        body(line)
      }
    }
  }

  private static func writeAll(fd: Int32, _ line: String) {
    var text = line
    text.withUTF8 { bytes in
      var offset = 0
      while offset < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          return  // stderr gone: nothing sensible left to report to
        }
        offset += n
      }
    }
  }

  static func rank(of level: LogLevel) -> Int {
    LogLevel.allCases.firstIndex(of: level)!
  }

  static func level(ofRank rank: Int) -> LogLevel {
    LogLevel.allCases[rank]
  }
}
