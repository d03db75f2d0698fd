import XCTest
@testable import HDConfig

final class HDConfigSmokeTests: XCTestCase {
  func testModuleLinks() throws {}
}
