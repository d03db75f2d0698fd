// The commands against the machine the tests run on (the CI host: 2 vCPUs,
// no SMT, io_uring allowed, no kernel TLS). Where a fact of this host is
// assumed, the test checks the fact first and skips on a different host.
import XCTest
@testable import HDOps
import HDConfig

final class LiveHostTests: XCTestCase {
  private func liveDoctor() -> (DoctorReport, CommandOutput) {
    let context = DoctorContext(environment: .live, loaded: LoadedConfig.load(path: nil, root: .live))
    let report = Doctor.run(context, options: DoctorOptions())
    let output = DoctorCommand.run(environment: .live, configPath: nil, options: DoctorOptions(), json: false, style: .plain)
    return (report, output)
  }

  private func result(_ code: CheckCode, in report: DoctorReport) throws -> CheckOutcome {
    try XCTUnwrap(report.results.first { $0.code == code }?.outcome, "\(code) missing")
  }

  func testDoctorReportsMissingKernelTLSAsErrorWithFixAndIOUringWorking() throws {
    try XCTSkipIf(FileSystemRoot.live.isDirectory("/sys/module/tls"), "this host has kernel TLS")
    let (report, output) = liveDoctor()
    let ktls = try result(.ktlsModule, in: report)
    XCTAssertEqual(ktls.status, .error)
    XCTAssertTrue(ktls.fix?.contains("modprobe tls") ?? false, ktls.fix ?? "no fix")
    XCTAssertEqual(try result(.ktlsProbe, in: report).status, .skipped)
    XCTAssertEqual(try result(.ioUringSetup, in: report).status, .ok)
    XCTAssertEqual(try result(.ioUringSetup, in: report).fact, "io_uring_queue_init(8 entries) works")
    XCTAssertEqual(report.exitCode, 1)
    XCTAssertEqual(output.exitCode, 1)
    XCTAssertTrue(output.standardOutput.contains("[FAIL] KTLS_MODULE"), output.standardOutput)
    XCTAssertTrue(output.standardOutput.contains("fix: "))
    XCTAssertTrue(output.standardOutput.allSatisfy(\.isASCII), "plain style must be ASCII")
  }

  func testRecommendTwoWorkersOnCoresZeroAndOne() throws {
    let online = FileSystemRoot.live.readValue("/sys/devices/system/cpu/online")
    try XCTSkipUnless(online == "0-1", "this host is not the 2-vCPU CI machine (online: \(online ?? "?"))")
    let output = RecommendCommand.run(environment: .live, configPath: nil, json: false)
    XCTAssertEqual(output.exitCode, 0, output.standardError)
    XCTAssertTrue(output.standardOutput.hasSuffix("workers: 2\npin_cores: [0, 1]\n"), output.standardOutput)
    let json = RecommendCommand.run(environment: .live, configPath: nil, json: true)
    let document = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
    XCTAssertEqual(document?["workers"] as? Int, 2)
    XCTAssertEqual(document?["pin_cores"] as? [Int], [0, 1])
  }

  func testTuneDryRunPrintsThePlanAndChangesNothing() throws {
    let keys = SysctlPlan.requirements(for: .init()).map(\.procPath)
    let before = keys.map { FileSystemRoot.live.readText($0) }
    let dropInBefore = FileSystemRoot.live.readText(PersistedFiles.sysctlDropIn)
    let output = TuneCommand.run(TuneRequest(), style: .plain)
    XCTAssertEqual(output.exitCode, 0, output.standardError)
    for key in ["net.core.rmem_max", "net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "fs.file-max"] {
      XCTAssertTrue(output.standardOutput.contains("  \(key) "), "plan lacks \(key)")
    }
    XCTAssertTrue(output.standardOutput.contains("Dry run, nothing changed."))
    XCTAssertEqual(keys.map { FileSystemRoot.live.readText($0) }, before)
    XCTAssertEqual(FileSystemRoot.live.readText(PersistedFiles.sysctlDropIn), dropInBefore)
  }

  func testLiveProbesMatchThisHost() throws {
    let probes = LiveHostProbes()
    XCTAssertEqual(probes.ioUringSetup(), .ok)
    let allowedText = try XCTUnwrap(
      FileSystemRoot.live.readText("/proc/self/status")?.split(separator: "\n")
        .first { $0.hasPrefix("Cpus_allowed_list:") }?.split(separator: "\t").last)
    XCTAssertEqual(probes.affinityCPUs(), CPUList.parse(allowedText))
    // Without the module and without a tls.ko to autoload, TCP_ULP "tls" is ENOENT.
    let release = FileSystemRoot.live.readValue("/proc/sys/kernel/osrelease") ?? ""
    if !FileSystemRoot.live.isDirectory("/sys/module/tls")
      && !DoctorChecks.moduleAvailable(root: .live, release: release)
    {
      XCTAssertEqual(probes.kernelTLSULP(), .failed(errno: ENOENT))
    }
    let files = probes.openFilesLimit()
    XCTAssertNotNil(files.soft)
    XCTAssertLessThanOrEqual(files.soft ?? 0, files.hard ?? .max)
  }
}
