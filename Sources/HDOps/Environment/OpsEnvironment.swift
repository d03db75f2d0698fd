// Where hdctl's ops commands look: a file-system root plus the probes that
// match it (live calls for "/", probes.json for a fixture tree).

public struct OpsEnvironment: Sendable {
  public var root: FileSystemRoot
  public var probes: any HostProbes

  public init(root: FileSystemRoot, probes: any HostProbes) {
    self.root = root
    self.probes = probes
  }

  public static var live: OpsEnvironment { OpsEnvironment(root: .live, probes: LiveHostProbes()) }

  /// `--root DIR`: "/" means the live host; any other directory is a fixture
  /// tree and must hold probes.json.
  public static func forRoot(_ directory: String?) throws -> OpsEnvironment {
    guard let directory, FileSystemRoot(directory: directory) != .live else { return .live }
    let root = FileSystemRoot(directory: directory)
    guard root.isDirectory("/") else {
      throw FixtureProbeError(description: "--root \(directory): not a directory")
    }
    return OpsEnvironment(root: root, probes: try FixtureHostProbes(root: root))
  }
}
