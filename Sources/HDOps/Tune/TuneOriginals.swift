// What tune changed, recorded before it changes anything, so --revert can put
// the host back: raw /proc/sys contents, the previous content of each file
// tune wrote (nil = it did not exist) and the directories tune created.
import FoundationEssentials

public struct TuneOriginals: Codable, Sendable, Equatable {
  public var version: Int = 1
  /// sysctl key → raw text of its /proc/sys file before the first --apply.
  public var sysctl: [String: String] = [:]
  /// host path → content before the first --persist; nil = absent.
  public var files: [String: String?] = [:]
  /// Directories tune created, outermost first.
  public var createdDirectories: [String] = []

  enum CodingKeys: String, CodingKey {
    case version, sysctl, files
    case createdDirectories = "created_directories"
  }

  public init() {}

  public static func load(root: FileSystemRoot) throws -> TuneOriginals? {
    guard let bytes = root.readBytes(PersistedFiles.originals) else { return nil }
    do {
      return try JSONDecoder().decode(TuneOriginals.self, from: Data(bytes))
    } catch {
      throw TuneError("\(PersistedFiles.originals) is unreadable (\(error)); restore by hand and delete it")
    }
  }

  public func save(root: FileSystemRoot) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(self)
    try root.writeAtomically(PersistedFiles.originals, Array(data) + [0x0A], mode: 0o600)
  }
}

public struct TuneError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}
