import XCTest
@testable import HDMetrics

final class HDMetricsSmokeTests: XCTestCase {
  func testModuleLinks() throws {}
}
