import XCTest

@testable import HDMetrics

#if canImport(Glibc)
  import Glibc
#endif

final class ProcessMetricsTests: XCTestCase {
  func testReadsThisProcess() throws {
    let before = try XCTUnwrap(ProcessMetrics.read())
    // Opening a descriptor must show up in the count.
    let fd = open("/dev/null", O_RDONLY)
    defer { close(fd) }
    let after = try XCTUnwrap(ProcessMetrics.read())
    XCTAssertEqual(after.openFileDescriptors, before.openFileDescriptors + 1)
    XCTAssertGreaterThan(after.residentMemoryBytes, 1 << 20)
    XCTAssertGreaterThanOrEqual(after.virtualMemoryBytes, after.residentMemoryBytes)
    XCTAssertGreaterThan(after.maxFileDescriptors, 0)
    XCTAssertGreaterThanOrEqual(after.threads, 1)
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    // Started before now, and not before this test run could have begun (1 day).
    XCTAssertLessThanOrEqual(after.startTimeSeconds, Double(now.tv_sec) + 1)
    XCTAssertGreaterThan(after.startTimeSeconds, Double(now.tv_sec) - 86_400)
    XCTAssertGreaterThan(after.cpuSeconds, 0)
  }

  func testStatParsingSurvivesHostileCommandNames() throws {
    let stat = "42 (evil) (name ) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22"
    let fields = try XCTUnwrap(ProcessMetrics.statFieldsAfterCommand(stat))
    XCTAssertEqual(fields.first, "S")
    XCTAssertEqual(fields.count, 23)
  }

  func testMissingProcGivesNil() {
    XCTAssertNil(ProcessMetrics.read(procRoot: "/nonexistent"))
  }
}
