// The two line formats. Text is for people reading a terminal or journal:
//   2026-11-26T13:57:25.123Z info [daemon] listening port=3340
// JSON is one object per line for log shippers:
//   {"time":"2026-11-26T13:57:25.123Z","level":"info","logger":"daemon","msg":"listening","port":"3340"}
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import HDConfig

enum LogLineFormat {
  static func text(
    timestamp: String, level: LogLevel, label: String, message: String,
    fields: [(key: String, value: String)]
  ) -> String {
    var line = timestamp + " " + level.rawValue + " [" + label + "] " + message
    for (key, value) in fields {
      line += " " + key + "=" + textValue(value)
    }
    return line + "\n"
  }

  static func json(
    timestamp: String, level: LogLevel, label: String, message: String,
    fields: [(key: String, value: String)]
  ) -> String {
    var line = "{\"time\":\"" + timestamp + "\",\"level\":\"" + level.rawValue + "\",\"logger\":"
    line += JSONEscaping.quoted(label) + ",\"msg\":" + JSONEscaping.quoted(message)
    for (key, value) in fields {
      line += "," + JSONEscaping.quoted(key) + ":" + JSONEscaping.quoted(value)
    }
    return line + "}\n"
  }

  /// Quotes values that would otherwise break `key=value` parsing.
  static func textValue(_ value: String) -> String {
    let needsQuotes = value.isEmpty || value.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") }
    return needsQuotes ? JSONEscaping.quoted(value) : value
  }
}

enum LogTimestamp {
  /// RFC 3339 UTC with milliseconds, without Foundation.
  static func nowUTC() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    let millis = Int(now.tv_nsec) / 1_000_000
    return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-"
      + pad(Int(parts.tm_mday), 2) + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2)
      + ":" + pad(Int(parts.tm_sec), 2) + "." + pad(millis, 3) + "Z"
  }

  private static func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
  }
}
