// Every file hdctl reads or writes goes through a FileSystemRoot, so doctor,
// recommend and tune run unchanged against "/" or against a fixture tree that
// holds the same paths (proc/, sys/, etc/ ...). Paths passed in are always the
// host's absolute paths ("/proc/sys/net/core/rmem_max"); the root prefixes them.
@preconcurrency import Glibc
import HDConfig

/// Why a write under the root failed, with the host path and errno text.
public struct FileSystemError: Error, CustomStringConvertible, Sendable {
  public var path: String
  public var operation: String
  public var errnoCode: Int32

  public var description: String {
    "\(operation) \(path): \(String(cString: strerror(errnoCode)))"
  }
}

public struct FileSystemRoot: Sendable, Equatable {
  /// The directory that stands for "/" ("/" itself on a live host).
  public let directory: String

  public init(directory: String) {
    var trimmed = directory
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    self.directory = trimmed.isEmpty ? "/" : trimmed
  }

  /// The running host.
  public static let live = FileSystemRoot(directory: "/")

  /// True when this root is the real file system (writes change the host).
  public var isLive: Bool { directory == "/" }

  /// The real path for a host path.
  public func resolve(_ hostPath: String) -> String {
    precondition(hostPath.hasPrefix("/"), "host paths are absolute: \(hostPath)")
    return isLive ? hostPath : directory + hostPath
  }

  /// The host path for a real path under this root ("/fixture/etc/x" → "/etc/x"),
  /// so messages name what the operator would see on the host.
  public func hostPath(forReal path: String) -> String {
    guard !isLive, path.hasPrefix(directory + "/") else { return path }
    return String(path.dropFirst(directory.count))
  }

  /// Every real path under this root inside `text` rewritten to its host path.
  public func hostPaths(in text: String) -> String {
    isLive ? text : text.replacingAll(directory + "/", with: "/")
  }

  // MARK: Reading

  /// Whole file as UTF-8 text; nil when it cannot be read.
  public func readText(_ hostPath: String) -> String? {
    guard let bytes = readBytes(hostPath) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// File text without surrounding whitespace (how sysfs/procfs values are used).
  public func readValue(_ hostPath: String) -> String? {
    readText(hostPath).map { $0.trimmingWhitespace() }
  }

  /// A file holding one integer (sysctl, sysfs id); nil when missing or not a number.
  public func readInt(_ hostPath: String) -> Int? {
    readValue(hostPath).flatMap { Int($0) }
  }

  public func readBytes(_ hostPath: String) -> [UInt8]? {
    let fd = open(resolve(hostPath), O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        return nil
      }
      if count == 0 { return result }
      result.append(contentsOf: chunk[0..<count])
    }
  }

  public func exists(_ hostPath: String) -> Bool {
    access(resolve(hostPath), F_OK) == 0
  }

  public func isDirectory(_ hostPath: String) -> Bool {
    var info = stat()
    return stat(resolve(hostPath), &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }

  /// Names in a directory (no "." or ".."), sorted; empty when unreadable.
  public func list(_ hostPath: String) -> [String] {
    guard let dir = opendir(resolve(hostPath)) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
  }

  // MARK: Writing

  /// Writes into an existing file without replacing it (what /proc/sys needs:
  /// a sysctl file cannot be renamed over).
  public func overwrite(_ hostPath: String, with bytes: [UInt8]) throws(FileSystemError) {
    let fd = open(resolve(hostPath), O_WRONLY | O_TRUNC | O_CLOEXEC)
    guard fd >= 0 else { throw FileSystemError(path: hostPath, operation: "open", errnoCode: errno) }
    defer { close(fd) }
    try writeAll(fd, bytes, hostPath)
  }

  /// Replaces a file atomically: a temporary file in the same directory,
  /// fsync, then rename, so a crash leaves either the old or the new file.
  public func writeAtomically(_ hostPath: String, _ bytes: [UInt8], mode: mode_t = 0o644)
    throws(FileSystemError)
  {
    let target = resolve(hostPath)
    let temporary = target + ".tmp-hdctl-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw FileSystemError(path: hostPath, operation: "create", errnoCode: errno) }
    do throws(FileSystemError) {
      try writeAll(fd, bytes, hostPath)
      guard fsync(fd) == 0 else { throw FileSystemError(path: hostPath, operation: "fsync", errnoCode: errno) }
    } catch {
      close(fd)
      unlink(temporary)
      throw error
    }
    close(fd)
    guard rename(temporary, target) == 0 else {
      let code = errno
      unlink(temporary)
      throw FileSystemError(path: hostPath, operation: "rename", errnoCode: code)
    }
    // The rename itself is durable only once the directory is synced.
    let directoryFD = open(resolve(parentPath(of: hostPath)), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directoryFD >= 0 {
      fsync(directoryFD)
      close(directoryFD)
    }
  }

  public func remove(_ hostPath: String) throws(FileSystemError) {
    guard unlink(resolve(hostPath)) == 0 else {
      throw FileSystemError(path: hostPath, operation: "remove", errnoCode: errno)
    }
  }

  public func removeDirectory(_ hostPath: String) throws(FileSystemError) {
    guard rmdir(resolve(hostPath)) == 0 else {
      throw FileSystemError(path: hostPath, operation: "remove directory", errnoCode: errno)
    }
  }

  /// Creates a directory and its missing parents; returns the host paths it
  /// created, outermost first (so an undo can remove exactly those).
  @discardableResult
  public func createDirectories(_ hostPath: String) throws(FileSystemError) -> [String] {
    var missing: [String] = []
    var current = hostPath
    while current != "/" && !current.isEmpty && !isDirectory(current) {
      missing.append(current)
      current = parentPath(of: current)
    }
    for path in missing.reversed() {
      guard mkdir(resolve(path), 0o755) == 0 || errno == EEXIST else {
        throw FileSystemError(path: path, operation: "mkdir", errnoCode: errno)
      }
    }
    return missing.reversed()
  }

  private func writeAll(_ fd: Int32, _ bytes: [UInt8], _ hostPath: String) throws(FileSystemError) {
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if written < 0 {
        if errno == EINTR { continue }
        throw FileSystemError(path: hostPath, operation: "write", errnoCode: errno)
      }
      offset += written
    }
  }
}

/// "/a/b/c" → "/a/b"; "/a" → "/".
public func parentPath(of hostPath: String) -> String {
  guard let slash = hostPath.lastIndex(of: "/"), slash != hostPath.startIndex else { return "/" }
  return String(hostPath[..<slash])
}

extension StringProtocol {
  /// Text without leading/trailing spaces, tabs and newlines.
  func trimmingWhitespace() -> String {
    var slice = Substring(self)
    while let first = slice.first, first.isWhitespace { slice.removeFirst() }
    while let last = slice.last, last.isWhitespace { slice.removeLast() }
    return String(slice)
  }
}

/// hdctl's root serves the shared cgroup reader (HDConfig.CgroupCPULimits).
extension FileSystemRoot: HostFileTree {}
