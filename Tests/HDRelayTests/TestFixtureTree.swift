// A throw-away directory tree standing in for / (proc, sys, cgroup files) or
// holding config and key files for one test.
import Foundation

final class TestFixtureTree {
  let root: String

  init(_ name: String = #function) {
    // Short: unix socket paths inside the tree must fit in sun_path (108 bytes).
    let safe = String(name.filter { $0.isLetter || $0.isNumber }.prefix(24))
    root = NSTemporaryDirectory() + "hd-life-\(safe)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: root) }

  /// Writes `contents` at `relativePath` (creating directories) and returns the full path.
  @discardableResult
  func write(_ relativePath: String, _ contents: String) -> String {
    let path = root + "/" + relativePath
    let dir = (path as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: path, contents: Data(contents.utf8))
    return path
  }

  func path(_ relativePath: String) -> String { root + "/" + relativePath }
}
