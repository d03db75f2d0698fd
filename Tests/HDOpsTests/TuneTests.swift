// tune against scratch copies of fixture trees: apply, persist, revert.
import XCTest
import HDConfig
@testable import HDOps

final class TuneTests: XCTestCase {
  func testApplyPersistThenRevertLeavesTheTreeByteIdentical() throws {
    for name in ["live-2vcpu", "iouring-disabled", "intel-16vcpu-smt"] {
      let directory = try copyFixture(name)
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let environment = try OpsEnvironment.forRoot(directory)
      let before = try TreeSnapshot(directory: directory)

      let applied = TuneCommand.run(TuneRequest(apply: true, persist: true), environment: environment, style: .plain)
      XCTAssertEqual(applied.exitCode, 0, "\(name): \(applied.standardError)")
      XCTAssertNotEqual(try TreeSnapshot(directory: directory), before)
      let root = environment.root
      XCTAssertEqual(root.readInt("/proc/sys/net/core/somaxconn"), 8192)
      XCTAssertTrue(root.readText(PersistedFiles.sysctlDropIn)?.contains("net.core.somaxconn = 8192") ?? false)
      XCTAssertEqual(root.readText(PersistedFiles.modulesLoad), PersistedFiles.modulesLoadText)
      XCTAssertTrue(root.exists(PersistedFiles.originals))

      let reverted = TuneCommand.run(TuneRequest(revert: true), environment: environment, style: .plain)
      XCTAssertEqual(reverted.exitCode, 0, "\(name): \(reverted.standardError)")
      XCTAssertEqual(try TreeSnapshot(directory: directory), before, "\(name) differs after --revert")
    }
  }

  func testRepeatedRunsKeepTheFirstOriginals() throws {
    let directory = try copyFixture("iouring-disabled")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let environment = try OpsEnvironment.forRoot(directory)
    let before = try TreeSnapshot(directory: directory)
    for request in [TuneRequest(apply: true), TuneRequest(persist: true), TuneRequest(apply: true, persist: true)] {
      XCTAssertEqual(TuneCommand.run(request, environment: environment, style: .plain).exitCode, 0)
    }
    XCTAssertEqual(environment.root.readInt("/proc/sys/kernel/io_uring_disabled"), 0)
    // The second --apply had nothing to raise; the recorded original is still 2.
    let originals = try XCTUnwrap(try TuneOriginals.load(root: environment.root))
    XCTAssertEqual(originals.sysctl["kernel.io_uring_disabled"], "2\n")
    XCTAssertEqual(TuneCommand.run(TuneRequest(revert: true), environment: environment, style: .plain).exitCode, 0)
    XCTAssertEqual(try TreeSnapshot(directory: directory), before)
  }

  func testPlanNeverLowersALargerValue() throws {
    let environment = try Fixtures.environment("ktls-loaded")
    let plan = SysctlPlan.make(config: Config(sockbufBytes: 1_048_576), root: environment.root)
    let rmem = try XCTUnwrap(plan.item("net.core.rmem_max"))
    XCTAssertEqual(rmem.current, 16_777_216)
    XCTAssertEqual(rmem.action, .keep)
    XCTAssertEqual(rmem.proposed, 16_777_216)
    XCTAssertFalse(rmem.persists, "a larger host value is left to the host")
    XCTAssertFalse(PersistedFiles.sysctlDropInText(plan).contains("net.core.rmem_max ="))
    let raised = SysctlPlan.make(config: Config(sockbufBytes: 33_554_432), root: environment.root)
    XCTAssertEqual(raised.item("net.core.rmem_max")?.action, .raise)
    XCTAssertEqual(raised.item("net.core.rmem_max")?.proposed, 33_554_432)
  }

  func testRevertWithoutRecordIsAClearError() throws {
    let directory = try copyFixture("live-2vcpu")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let output = TuneCommand.run(TuneRequest(revert: true), environment: try OpsEnvironment.forRoot(directory), style: .plain)
    XCTAssertEqual(output.exitCode, 1)
    XCTAssertTrue(output.standardError.contains("nothing to revert"), output.standardError)
  }

  func testChangingTheLiveHostNeedsRoot() throws {
    var probes = try FixtureHostProbes(root: FileSystemRoot(directory: Fixtures.directory + "/live-2vcpu"))
    probes.euid = 1000
    let environment = OpsEnvironment(root: .live, probes: probes)
    let recordBefore = FileSystemRoot.live.readText(PersistedFiles.originals)
    for request in [TuneRequest(apply: true), TuneRequest(persist: true), TuneRequest(revert: true)] {
      let output = TuneCommand.run(request, environment: environment, style: .plain)
      XCTAssertEqual(output.exitCode, 1)
      XCTAssertTrue(output.standardError.contains("needs root"), output.standardError)
      XCTAssertEqual(output.standardOutput, "")
    }
    XCTAssertEqual(FileSystemRoot.live.readText(PersistedFiles.originals), recordBefore)
  }

  func testRevertCannotBeCombined() {
    let output = TuneCommand.run(TuneRequest(apply: true, revert: true), style: .plain)
    XCTAssertEqual(output.exitCode, CommandOutput.usageExitCode)
  }
}
