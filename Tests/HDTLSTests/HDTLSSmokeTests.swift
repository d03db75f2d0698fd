import XCTest
@testable import HDTLS

final class HDTLSSmokeTests: XCTestCase {
  func testModuleLinks() throws {}
}
