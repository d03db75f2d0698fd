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

  public static func nowSeconds() -> Int64 { Int64(time(nil)) }
}
