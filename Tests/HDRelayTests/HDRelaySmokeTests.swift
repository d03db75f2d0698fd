import XCTest
@testable import HDRelay

final class HDRelaySmokeTests: XCTestCase {
  func testModuleLinks() throws {}
}
