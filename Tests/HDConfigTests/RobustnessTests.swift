import Foundation
import XCTest
@testable import HDConfig

/// Mutated and truncated YAML never crashes or hangs the loader, and every
/// diagnostic it returns points inside the input.
final class RobustnessTests: XCTestCase {
  /// xorshift64*: deterministic, so a failure reproduces from the iteration number.
  private struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
      state ^= state >> 12
      state ^= state << 25
      state ^= state >> 27
      return state &* 2_685_821_657_736_338_717
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
  }

  private static let alphabet = Array(":-[]{}&*!|>'\"#%@`,? \n\t\r0123456789abcxyz.~\\".utf8)
    + [0x00, 0xFF, 0xC3, 0xE2]

  private func seeds() throws -> [[UInt8]] {
    var seeds: [[UInt8]] = []
    for directory in [TestPaths.corpus, TestPaths.repositoryRoot + "/etc"] {
      for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".yaml") {
        if let data = FileManager.default.contents(atPath: directory + "/" + name) { seeds.append(Array(data)) }
      }
    }
    return seeds
  }

  private func mutate(_ input: [UInt8], _ random: inout Random) -> [UInt8] {
    var bytes = input
    for _ in 0...random.below(4) {
      let position = random.below(bytes.count + 1)
      switch random.below(6) {
      case 0: bytes = Array(bytes.prefix(position))  // truncate
      case 1: bytes.insert(Self.alphabet[random.below(Self.alphabet.count)], at: position)
      case 2 where position < bytes.count: bytes[position] = Self.alphabet[random.below(Self.alphabet.count)]
      case 3 where position < bytes.count:
        bytes.removeSubrange(position..<min(bytes.count, position + 1 + random.below(8)))
      case 4:
        let start = random.below(bytes.count + 1)
        let chunk = bytes[start..<min(bytes.count, start + random.below(32))]
        bytes.insert(contentsOf: chunk, at: position)
      default: bytes.insert(contentsOf: Array(repeating: UInt8(ascii: "["), count: random.below(100)), at: position)
      }
    }
    return bytes
  }

  func testTenThousandMutatedInputsNeitherCrashNorHang() throws {
    let seeds = try seeds()
    XCTAssertGreaterThan(seeds.count, 10)
    var random = Random(state: 0x9E37_79B9_7F4A_7C15)
    var outcomes = [0, 0]  // [valid, invalid]
    for iteration in 0..<10_000 {
      let input = mutate(seeds[iteration % seeds.count], &random)
      let result = ConfigCheck.check(bytes: input, file: "fuzz.yaml", options: .syntaxOnly)
      outcomes[result.isValid ? 0 : 1] += 1
      let lineCount = Self.lineBreaks(in: input) + 1
      for diagnostic in result.diagnostics {
        if let line = diagnostic.line {
          XCTAssertTrue((1...lineCount + 1).contains(line), "iteration \(iteration): line \(line) of \(lineCount)")
        }
        if let column = diagnostic.column { XCTAssertGreaterThanOrEqual(column, 1, "iteration \(iteration)") }
        _ = DiagnosticRenderer.human(diagnostic)
        _ = DiagnosticRenderer.jsonObject(diagnostic)
      }
    }
    // The mutations must exercise both paths, or the test proves little.
    XCTAssertGreaterThan(outcomes[0], 100)
    XCTAssertGreaterThan(outcomes[1], 1000)
  }

  /// Line breaks as YAML counts them (LF, CR, CR LF, NEL, LS, PS), counted independently of the loader.
  private static func lineBreaks(in input: [UInt8]) -> Int {
    let scalars = Array(String(decoding: input, as: UTF8.self).unicodeScalars)
    var count = 0
    for (index, scalar) in scalars.enumerated() {
      switch scalar {
      case "\n": if index == 0 || scalars[index - 1] != "\r" { count += 1 }
      case "\r", "\u{85}", "\u{2028}", "\u{2029}": count += 1
      default: break
      }
    }
    return count
  }

  func testDeepNestingIsRejectedNotRecursedInto() {
    let input = String(repeating: "[", count: 100_000)
    let result = ConfigCheck.check(bytes: Array(input.utf8), file: "deep.yaml", options: .syntaxOnly)
    XCTAssertEqual(result.diagnostics.map(\.code), [.yamlNestingTooDeep])
  }
}
