// The relay config the ops commands reason about, loaded with HDConfig's own
// loader and checks (the same ones `hdctl check-config` runs).
import HDConfig

public struct LoadedConfig: Sendable {
  /// Where check-config and the daemon look when no path is given.
  public static let defaultPath = "/etc/hyper-derp/hyper-derp.yaml"

  public var config: Config
  /// The host path read, or nil for built-in defaults.
  public var path: String?
  public var diagnostics: [Diagnostic]

  /// "/etc/hyper-derp/hyper-derp.yaml" or "built-in defaults, no config file".
  public var sourceDescription: String { path ?? "built-in defaults, no config file" }

  /// Errors that are about the file itself, not the certificates or the ACME
  /// cache directory it names (those are their own checks' business).
  public var configErrors: [Diagnostic] {
    diagnostics.filter { $0.isError && !Self.keysWithTheirOwnChecks.contains($0.keyPath ?? "") }
  }

  static let keysWithTheirOwnChecks: Set<String> = [
    "tls_cert", "tls_key", "metrics.tls_cert", "metrics.tls_key", "acme.cache_dir",
  ]

  /// Loads `path` (a host path; relative paths only make sense on the live
  /// root) or, without one, the default path when it exists, else defaults.
  public static func load(path: String?, root: FileSystemRoot) -> LoadedConfig {
    let hostPath: String?
    if let path {
      hostPath = path
    } else if root.exists(defaultPath) {
      hostPath = defaultPath
    } else {
      hostPath = nil
    }
    guard let hostPath else {
      return LoadedConfig(config: Config(), path: nil, diagnostics: [])
    }
    let realPath = hostPath.hasPrefix("/") ? root.resolve(hostPath) : hostPath
    // Host facts are doctor's own checks; here only the file and what it names.
    let options = ConfigCheckOptions(checkReferencedFiles: true, checkHost: false, hostRoot: root.directory)
    let result = ConfigLoader.check(path: realPath, options: options)
    // Messages and paths name what the operator sees on the host, never the
    // fixture directory (relative paths in the file resolve under the root).
    var diagnostics = result.diagnostics
    for index in diagnostics.indices {
      diagnostics[index].message = root.hostPaths(in: diagnostics[index].message)
      diagnostics[index].suggestion = diagnostics[index].suggestion.map { root.hostPaths(in: $0) }
      diagnostics[index].file = diagnostics[index].file.map { root.hostPath(forReal: $0) }
    }
    var config = result.config
    config.tlsCert = config.tlsCert.map { root.hostPath(forReal: $0) }
    config.tlsKey = config.tlsKey.map { root.hostPath(forReal: $0) }
    config.metrics.tlsCert = config.metrics.tlsCert.map { root.hostPath(forReal: $0) }
    config.metrics.tlsKey = config.metrics.tlsKey.map { root.hostPath(forReal: $0) }
    config.keyFile = config.keyFile.map { root.hostPath(forReal: $0) }
    return LoadedConfig(config: config, path: hostPath, diagnostics: diagnostics)
  }
}

extension String {
  func replacingAll(_ target: String, with replacement: String) -> String {
    guard !target.isEmpty else { return self }
    var result = ""
    var rest = Substring(self)
    while let index = rest.firstRange(of: target) {
      result += rest[..<index.lowerBound]
      result += replacement
      rest = rest[index.upperBound...]
    }
    return result + rest
  }
}
