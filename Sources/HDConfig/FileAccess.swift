// Small file helpers on plain POSIX calls (HDConfig stays free of Foundation).

import Glibc

public enum FileAccess {
  public enum ReadError: Error, Equatable {
    case notFound
    case unreadable(String)
  }

  /// The whole file, or why it cannot be read.
  public static func readBytes(_ path: String, limitBytes: Int = 16 << 20) -> Result<[UInt8], ReadError> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
      let error = errno
      return .failure(error == ENOENT || error == ENOTDIR ? .notFound : .unreadable(describe(error)))
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while bytes.count <= limitBytes {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        return .failure(.unreadable(describe(errno)))
      }
      if count == 0 { break }
      bytes.append(contentsOf: chunk[0..<count])
    }
    // Never hand back a silently truncated file.
    if bytes.count > limitBytes { return .failure(.unreadable("larger than \(limitBytes) bytes")) }
    return .success(bytes)
  }

  /// The file as text, nil when it cannot be read.
  public static func readText(_ path: String) -> String? {
    guard case .success(let bytes) = readBytes(path) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
  }

  public static func exists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0
  }

  public static func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }

  static func describe(_ error: Int32) -> String {
    String(cString: strerror(error))
  }
}
