import XCTest
@testable import HDProtocol

final class HDProtocolSmokeTests: XCTestCase {
  func testModuleLinks() throws {}
}
