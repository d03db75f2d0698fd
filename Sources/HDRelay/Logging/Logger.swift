// A named handle on a LogSink: `Logger(label: "relay")`. Cheap to copy; the
// message is an autoclosure so disabled levels cost one atomic load.
import HDConfig

public struct Logger: Sendable {
  public let label: String
  public let sink: LogSink

  public init(label: String, sink: LogSink = .standard) {
    self.label = label
    self.sink = sink
  }

  public func log(
    _ level: LogLevel, _ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, String> = [:]
  ) {
    guard sink.isEnabled(level) else { return }
    sink.write(level: level, label: label, message: message(), fields: Array(fields))
  }

  /// Fields built at runtime (e.g. one per configuration key).
  public func log(_ level: LogLevel, _ message: @autoclosure () -> String, fields: [(key: String, value: String)]) {
    guard sink.isEnabled(level) else { return }
    sink.write(level: level, label: label, message: message(), fields: fields)
  }

  public func trace(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, String> = [:]) {
    log(.trace, message(), fields)
  }

  public func debug(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, String> = [:]) {
    log(.debug, message(), fields)
  }

  public func info(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, String> = [:]) {
    log(.info, message(), fields)
  }

  public func warning(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, String> = [:]) {
    log(.warning, message(), fields)
  }

  public func error(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, String> = [:]) {
    log(.error, message(), fields)
  }

  public func critical(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, String> = [:]) {
    log(.critical, message(), fields)
  }
}
