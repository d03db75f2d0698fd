// doctor, recommend and tune on every fixture host, compared with the files
// in Goldens/<fixture>/. HDOPS_UPDATE_GOLDENS=1 rewrites them.
import XCTest
@testable import HDOps

final class GoldenOutputTests: XCTestCase {
  func testDoctorGoldens() throws {
    for name in Fixtures.names {
      let environment = try Fixtures.environment(name)
      let text = DoctorCommand.run(environment: environment, configPath: nil, options: DoctorOptions(), json: false, style: .plain)
      try Golden.check(text.standardOutput + "exit \(text.exitCode)\n", fixture: name, file: "doctor.txt")
      let json = DoctorCommand.run(environment: environment, configPath: nil, options: DoctorOptions(), json: true, style: .plain)
      try Golden.check(json.standardOutput, fixture: name, file: "doctor.json")
      XCTAssertEqual(text.exitCode, json.exitCode, name)
    }
  }

  func testRecommendGoldens() throws {
    for name in Fixtures.names {
      let environment = try Fixtures.environment(name)
      let text = RecommendCommand.run(environment: environment, configPath: nil, json: false)
      XCTAssertEqual(text.exitCode, 0, "\(name): \(text.standardError)")
      try Golden.check(text.standardOutput, fixture: name, file: "recommend.txt")
      let json = RecommendCommand.run(environment: environment, configPath: nil, json: true)
      try Golden.check(json.standardOutput, fixture: name, file: "recommend.json")
    }
  }

  func testTuneDryRunGoldens() throws {
    for name in Fixtures.names {
      let environment = try Fixtures.environment(name)
      let before = try TreeSnapshot(directory: environment.root.directory)
      let output = TuneCommand.run(TuneRequest(), environment: environment, style: .plain)
      XCTAssertEqual(output.exitCode, 0, "\(name): \(output.standardError)")
      try Golden.check(output.standardOutput, fixture: name, file: "tune.txt")
      XCTAssertEqual(try TreeSnapshot(directory: environment.root.directory), before, "a dry run must not write (\(name))")
    }
  }
}
