import Glibc

/// ISO dates for messages, from epoch seconds, without Foundation.
public enum UTCDate {
  public static func format(_ seconds: Int64) -> String {
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
  }

  /// RFC 3339 in UTC, e.g. `2027-03-01T12:00:00Z` (machine-readable fields).
  public static func formatTimestamp(_ seconds: Int64) -> String {
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return format(seconds) + "T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
  }

  public static func nowSeconds() -> Int64 { Int64(time(nil)) }
}
