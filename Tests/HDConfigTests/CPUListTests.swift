import XCTest
import HDConfig

final class CPUListTests: XCTestCase {
  func testParsesRangesAndSingles() {
    XCTAssertEqual(CPUList.parse("0-3,8,10-11\n"), [0, 1, 2, 3, 8, 10, 11])
    XCTAssertEqual(CPUList.parse("1"), [1])
    XCTAssertEqual(CPUList.parse(""), [])
    XCTAssertEqual(CPUList.parse("3,1,1"), [1, 3])
  }

  func testRejectsGarbage() {
    XCTAssertNil(CPUList.parse("0-"))
    XCTAssertNil(CPUList.parse("a"))
    XCTAssertNil(CPUList.parse("3-1"))
    XCTAssertNil(CPUList.parse("1,,2"))
    XCTAssertNil(CPUList.parse("-1"))
  }

  func testFormatsWithRanges() {
    XCTAssertEqual(CPUList.format([0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11")
    XCTAssertEqual(CPUList.format([5]), "5")
    XCTAssertEqual(CPUList.format([Int]()), "none")
  }
}
