// OpenSSL reports failures through a per-thread error queue. Control-plane
// code turns it into text; the data plane only reads the first reason code.
internal import CTLS

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

  /// The reason of the first error raised by libssl itself (crypto-library
  /// errors such as a failed GCM tag check come first in the queue and carry
  /// reasons from another numbering), then clears the queue. No allocation.
  static func takeFirstReason() -> Int32 {
    var reason: Int32 = 0
    while true {
      let code = ERR_get_error()
      if code == 0 { break }
      if reason == 0 && ERR_GET_LIB(code) == ERR_LIB_SSL { reason = ERR_GET_REASON(code) }
    }
    return reason
  }
}
