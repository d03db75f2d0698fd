// Carries out --apply, --persist and --revert under a FileSystemRoot. The
// originals file is written before the first change, so an interrupted run
// can still be reverted.

public struct TuneExecutor {
  public var root: FileSystemRoot

  public init(root: FileSystemRoot) {
    self.root = root
  }

  /// One line per change made, for the report.
  public typealias Log = [String]

  /// Writes every raised key to /proc/sys and reads it back.
  public func apply(_ plan: SysctlPlan) throws -> Log {
    guard !plan.changes.isEmpty else { return [] }
    var originals = try TuneOriginals.load(root: root) ?? TuneOriginals()
    for item in plan.changes where originals.sysctl[item.requirement.key] == nil {
      originals.sysctl[item.requirement.key] = root.readText(item.requirement.procPath) ?? ""
    }
    try saveOriginals(&originals)
    var log: Log = []
    for item in plan.changes {
      let value = item.requirement.value!
      try root.overwrite(item.requirement.procPath, with: Array("\(value)\n".utf8))
      let now = root.readInt(item.requirement.procPath)
      guard now == value else {
        throw TuneError("wrote \(value) to \(item.requirement.procPath) but it reads \(now.map(String.init) ?? "nothing") back")
      }
      log.append("set \(item.requirement.key) = \(value) (was \(item.current.map(String.init) ?? "absent"))")
    }
    return log
  }

  /// Writes the sysctl.d drop-in and the modules-load.d file atomically.
  public func persist(_ plan: SysctlPlan) throws -> Log {
    var originals = try TuneOriginals.load(root: root) ?? TuneOriginals()
    let writes = [
      (PersistedFiles.sysctlDropIn, PersistedFiles.sysctlDropInText(plan)),
      (PersistedFiles.modulesLoad, PersistedFiles.modulesLoadText),
    ]
    for (path, _) in writes where originals.files[path] == nil {
      originals.files[path] = .some(root.readText(path))
    }
    try saveOriginals(&originals)
    var log: Log = []
    for (path, text) in writes {
      let created = try root.createDirectories(parentPath(of: path))
      if !created.isEmpty {
        originals.createdDirectories.append(contentsOf: created)
        try originals.save(root: root)
      }
      try root.writeAtomically(path, Array(text.utf8))
      log.append("wrote \(path)")
    }
    return log
  }

  /// Restores recorded sysctl values and files, then removes the record and
  /// the directories tune created.
  public func revert() throws -> Log {
    guard let originals = try TuneOriginals.load(root: root) else {
      throw TuneError("nothing to revert: \(PersistedFiles.originals) does not exist (tune has not changed this host)")
    }
    var log: Log = []
    for (key, raw) in originals.sysctl.sorted(by: { $0.key < $1.key }) {
      let path = "/proc/sys/" + key.replacingDots()
      try root.overwrite(path, with: Array(raw.utf8))
      log.append("restored \(key) = \(raw.trimmingWhitespace())")
    }
    for (path, content) in originals.files.sorted(by: { $0.key < $1.key }) {
      if let content {
        try root.writeAtomically(path, Array(content.utf8))
        log.append("restored \(path)")
      } else if root.exists(path) {
        try root.remove(path)
        log.append("removed \(path)")
      }
    }
    try root.remove(PersistedFiles.originals)
    for directory in originals.createdDirectories.reversed() where root.list(directory).isEmpty {
      try root.removeDirectory(directory)
      log.append("removed directory \(directory)")
    }
    return log
  }

  /// Saves the record, creating /var/lib/hyper-derp (and noting it) first.
  private func saveOriginals(_ originals: inout TuneOriginals) throws {
    let created = try root.createDirectories(parentPath(of: PersistedFiles.originals))
    originals.createdDirectories.append(contentsOf: created)
    try originals.save(root: root)
  }
}
