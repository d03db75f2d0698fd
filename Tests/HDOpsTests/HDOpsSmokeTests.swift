import XCTest
@testable import HDOps

final class HDOpsSmokeTests: XCTestCase {
  func testModuleLinks() throws {}
}
