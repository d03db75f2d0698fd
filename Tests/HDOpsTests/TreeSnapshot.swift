// Every directory and file (with contents) below a directory, for "the tree
// is exactly as it was" assertions.
import Foundation

struct TreeSnapshot: Equatable, CustomStringConvertible {
  var directories: Set<String> = []
  var files: [String: Data] = [:]

  init(directory: String) throws {
    let manager = FileManager.default
    guard let walker = manager.enumerator(atPath: directory) else { return }
    while let relative = walker.nextObject() as? String {
      let path = directory + "/" + relative
      var isDirectory: ObjCBool = false
      _ = manager.fileExists(atPath: path, isDirectory: &isDirectory)
      if isDirectory.boolValue {
        directories.insert(relative)
      } else {
        files[relative] = try Data(contentsOf: URL(fileURLWithPath: path))
      }
    }
  }

  var description: String {
    "\(directories.count) directories, \(files.count) files: \(files.keys.sorted().joined(separator: ", "))"
  }
}

/// A scratch copy of a fixture tree, removed by the caller.
func copyFixture(_ name: String) throws -> String {
  let target = NSTemporaryDirectory() + "hdops-\(name)-\(UUID().uuidString)"
  try FileManager.default.copyItem(atPath: Fixtures.directory + "/" + name, toPath: target)
  return target
}
