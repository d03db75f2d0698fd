// Small whole-file reads and writes for /proc, /sys and config files, without
// Foundation (HDRelay stays Foundation-free). Control plane only.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

enum HostFile {
  /// The file's contents as UTF-8 text, or nil when it cannot be opened or read.
  /// `limitBytes` bounds what a hostile or huge file can make us allocate.
  static func readText(_ path: String, limitBytes: Int = 1 << 20) -> String? {
    guard let bytes = readBytes(path, limitBytes: limitBytes) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func readBytes(_ path: String, limitBytes: Int = 1 << 20) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while result.count < limitBytes {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        return nil
      }
      if n == 0 { break }
      result.append(contentsOf: chunk[0..<n])
    }
    return result
  }

  /// `text` without leading and trailing whitespace (newlines included).
  static func trimmed(_ text: some StringProtocol) -> String {
    String(text.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
  }

  /// The text of `errno` values for log and error messages.
  static func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
  }
}
