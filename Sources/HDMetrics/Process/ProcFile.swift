// Small whole-file reads for /proc, without Foundation. Metrics thread only.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

enum ProcFile {
  /// The file's text, or nil if it cannot be opened or read. /proc files report
  /// size 0, so this reads until EOF, bounded by `limitBytes`.
  static func readText(_ path: String, limitBytes: Int = 64 * 1024) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < limitBytes {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        return nil
      }
      if count == 0 { break }
      bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Number of entries in a directory such as /proc/self/fd, not counting
  /// `.`, `..` or the descriptor used to read the directory itself.
  static func countOpenFileDescriptors(directory: String = "/proc/self/fd") -> Int? {
    guard let dir = opendir(directory) else { return nil }
    defer { closedir(dir) }
    var count = 0
    while let entry = readdir(dir) {
      let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name -> Bool in
        name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
      }
      if !isDot { count += 1 }
    }
    // The listing includes the descriptor opendir holds while we read.
    return max(0, count - 1)
  }
}
