// Locating fixture trees and comparing output with golden files. Set
// HDOPS_UPDATE_GOLDENS=1 to rewrite the goldens from the current output
// (then review the diff with git before committing).
import XCTest
@testable import HDOps

enum Fixtures {
  static let directory: String = {
    var path = #filePath
    path = String(path[..<path.lastIndex(of: "/")!])
    return path + "/Fixtures"
  }()

  static let goldens: String = {
    var path = #filePath
    path = String(path[..<path.lastIndex(of: "/")!])
    return path + "/Goldens"
  }()

  /// Every fixture host, each a root tree with probes.json.
  static let names = [
    "live-2vcpu", "intel-16vcpu-smt", "amd-2socket-smt", "container-cgroup-limited", "ktls-loaded", "iouring-disabled",
  ]

  static func environment(_ name: String) throws -> OpsEnvironment {
    try OpsEnvironment.forRoot(directory + "/" + name)
  }
}

enum Golden {
  static var updating: Bool { ProcessInfo.processInfo.environment["HDOPS_UPDATE_GOLDENS"] == "1" }

  /// Compares `actual` with Goldens/<fixture>/<file>; with HDOPS_UPDATE_GOLDENS=1 writes it instead.
  static func check(_ actual: String, fixture: String, file: String, line: UInt = #line) throws {
    let directory = Fixtures.goldens + "/" + fixture
    let path = directory + "/" + file
    if updating {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      try actual.write(toFile: path, atomically: true, encoding: .utf8)
      return
    }
    guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
      XCTFail("missing golden \(path); run with HDOPS_UPDATE_GOLDENS=1 to create it", line: line)
      return
    }
    if expected != actual {
      XCTFail("\(fixture)/\(file) differs from the golden:\n\(firstDifference(expected, actual))\n(HDOPS_UPDATE_GOLDENS=1 regenerates)", line: line)
    }
  }

  static func firstDifference(_ expected: String, _ actual: String) -> String {
    let left = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let right = actual.split(separator: "\n", omittingEmptySubsequences: false)
    for index in 0..<max(left.count, right.count) {
      let a = index < left.count ? String(left[index]) : "<end>"
      let b = index < right.count ? String(right[index]) : "<end>"
      if a != b { return "line \(index + 1):\n  golden: \(a)\n  actual: \(b)" }
    }
    return "(no line differs)"
  }
}
