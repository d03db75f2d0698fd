// Replays the committed fuzz corpora and every past finding through the same
// entry functions libFuzzer runs (Fuzz/, `make fuzz`): seconds in CI, no
// fuzzing. A finding, once fixed, stays fixed.
import Foundation
@testable import HDFuzzTargets
import XCTest

final class CorpusReplayTests: XCTestCase {
  /// Fuzz/corpus/<target> (seeds and what the fuzzer kept) and Fuzz/regressions/<target> (past findings).
  private static let fuzzRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fuzz")

  private func inputs(_ kind: String, _ target: FuzzTarget) throws -> [URL] {
    let dir = Self.fuzzRoot.appendingPathComponent(kind).appendingPathComponent(target.name)
    guard FileManager.default.fileExists(atPath: dir.path) else { return [] }
    return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
      .filter { !$0.lastPathComponent.hasPrefix(".") }
      .sorted { $0.lastPathComponent < $1.lastPathComponent }
  }

  private func replay(_ kind: String) throws -> Int {
    var replayed = 0
    for target in FuzzTargets.all {
      for file in try inputs(kind, target) {
        let bytes = try [UInt8](Data(contentsOf: file))
        do {
          try target.run(bytes)
        } catch {
          XCTFail("\(kind)/\(target.name)/\(file.lastPathComponent): \(error)")
        }
        replayed += 1
      }
    }
    return replayed
  }

  func testEveryTargetHasASeedCorpus() throws {
    for target in FuzzTargets.all {
      XCTAssertFalse(try inputs("corpus", target).isEmpty, "Fuzz/corpus/\(target.name) is empty")
    }
  }

  func testCorpusInputsKeepTheirInvariants() throws {
    XCTAssertGreaterThan(try replay("corpus"), 0)
  }

  func testPastFindingsStayFixed() throws {
    _ = try replay("regressions")
  }

  /// The replay can fail: a target reports a broken invariant instead of passing it by.
  func testABrokenInvariantIsReported() throws {
    let checks = Checks(target: "probe")
    XCTAssertThrowsError(try checks.require(false, "on purpose")) { error in
      XCTAssertEqual((error as? FuzzFailure)?.description, "probe: on purpose")
    }
    XCTAssertNil(FuzzTargets.named("no-such-target"))
    XCTAssertEqual(Set(FuzzTargets.all.map(\.name)).count, FuzzTargets.all.count, "target names are unique")
  }
}
