import XCTest
@testable import HDClient

final class HDBenchSmokeTests: XCTestCase {
  func testModuleLinks() throws {}
}
