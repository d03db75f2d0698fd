// OpenSSL reports failures through a per-thread error queue. Control-plane
// code turns it into text; the data plane only reads the first reason code.
import CTLS

enum OpenSSLErrorQueue {
  /// Drains the queue into one line ("reason; reason"), or `fallback` if empty.
  static func drainText(fallback: String) -> String {
    var parts: [String] = []
    while true {
      let code = ERR_get_error()
      if code == 0 { break }
      var buffer = [CChar](repeating: 0, count: 256)
      ERR_error_string_n(code, &buffer, buffer.count)
      parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return parts.isEmpty ? fallback : parts.joined(separator: "; ")
  }

  /// The reason of the oldest queued error, then clears the queue (no allocation).
  static func takeFirstReason() -> Int32 {
    let code = ERR_get_error()
    ERR_clear_error()
    return code == 0 ? 0 : ERR_GET_REASON(code)
  }
}
