// Where results go: JSON to stdout or --output FILE; human text to stderr.
@preconcurrency import Glibc

enum Output {
  static func log(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { fputs($0, stderr) }
  }

  static func emit(_ json: JSONOut, path: String?) throws(BenchError) {
    let text = json.render() + "\n"
    try emitText(text, path: path)
  }

  static func emitText(_ text: String, path: String?) throws(BenchError) {
    guard let path else {
      _ = text.withCString { fputs($0, stdout) }
      fflush(stdout)
      return
    }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw .system("open \(path)", errno) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var off = 0
    while off < bytes.count {
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
      guard n > 0 else { throw .system("write \(path)", errno) }
      off += n
    }
  }
}
