// The files under etc/ that belong to ops: the systemd unit, the sysctl.d
// reference drop-in and the modules-load.d file. They must agree with what
// hdctl itself writes and recommends (HDOPS_UPDATE_GOLDENS=1 rewrites the
// drop-in), and the unit must pass systemd's own checks.
import XCTest
@testable import HDOps

final class ShippedFilesTests: XCTestCase {
  static let repository: String = {
    var path = Fixtures.directory
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
  }()

  private func read(_ relative: String) throws -> String {
    try String(contentsOfFile: Self.repository + "/" + relative, encoding: .utf8)
  }

  func testSysctlDropInIsTheGeneratedReference() throws {
    let expected = PersistedFiles.referenceSysctlDropInText()
    let path = Self.repository + "/etc/sysctl.d/60-hyper-derp.conf"
    if Golden.updating { try expected.write(toFile: path, atomically: true, encoding: .utf8) }
    XCTAssertEqual(try read("etc/sysctl.d/60-hyper-derp.conf"), expected, "HDOPS_UPDATE_GOLDENS=1 regenerates it")
    XCTAssertTrue(expected.contains("\nnet.core.rmem_max = 16777216\n"))
    // Debian's RAM-scaled fs.file-max is far above ours: a static file must not lower it.
    XCTAssertFalse(expected.contains("\nfs.file-max ="))
    XCTAssertTrue(expected.contains("\n# fs.file-max = 1048576"))
  }

  func testModulesLoadFileIsWhatTuneWrites() throws {
    XCTAssertEqual(try read("etc/modules-load.d/hyper-derp.conf"), PersistedFiles.modulesLoadText)
  }

  func testUnitMatchesWhatDoctorAndTuneRecommend() throws {
    let unit = try read("etc/hyper-derp.service")
    XCTAssertTrue(unit.contains("\nType=notify\n"))
    XCTAssertTrue(unit.contains("\nLimitNOFILE=\(SysctlPlan.fileDescriptorsMin)\n"), "doctor's NOFILE fix names this value")
    XCTAssertTrue(unit.contains("\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n"))
    XCTAssertTrue(unit.contains("\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"))
    XCTAssertFalse(unit.contains("\nSystemCallFilter=~@resources"), "pinning and setrlimit need @resources")
  }

  /// systemd-analyze verify (typos are only warnings at load time) and the
  /// hardening score, with ExecStart pointed at an existing binary.
  func testUnitPassesSystemdAnalyze() throws {
    let analyze = "/usr/bin/systemd-analyze"
    try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze not installed")
    let unit = try read("etc/hyper-derp.service").replacingOccurrences(of: "/usr/local/bin/hyper-derp", with: "/bin/true")
    let directory = NSTemporaryDirectory() + "hdops-unit-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/hyper-derp.service"
    try unit.write(toFile: path, atomically: true, encoding: .utf8)

    let verify = try runProcess(analyze, ["verify", path])
    XCTAssertEqual(verify.status, 0, verify.output)
    XCTAssertFalse(verify.output.contains(path), "verify complained: \(verify.output)")
    // --threshold is in tenths: 20 = exposure 2.0 (the C++ unit scores 5.9).
    let security = try runProcess(analyze, ["security", "--offline=yes", "--threshold=20", path])
    XCTAssertEqual(security.status, 0, security.output.split(separator: "\n").suffix(3).joined(separator: "\n"))
  }

  private func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}
