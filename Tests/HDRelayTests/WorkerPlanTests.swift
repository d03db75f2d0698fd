import HDConfig
import XCTest
@testable import HDRelay

final class WorkerPlanTests: XCTestCase {
  let fourCPUs = CPUAvailability(online: [0, 1, 2, 3], affinity: [0, 1, 2, 3])

  func testZeroWorkersMeansOnePerUsableCPU() throws {
    XCTAssertEqual(try WorkerPlan.resolve(workers: 0, pinCores: [], host: fourCPUs).workerCount, 4)
  }

  func testAffinityCpusetAndQuotaNarrowTheCount() throws {
    let taskset = CPUAvailability(online: [0, 1, 2, 3], affinity: [1, 2])
    XCTAssertEqual(try WorkerPlan.resolve(workers: 0, pinCores: [], host: taskset).workerCount, 2)

    let cpuset = CPUAvailability(
      online: [0, 1, 2, 3], affinity: [0, 1, 2, 3], cgroup: CgroupCPULimits(cpuset: [3], quotaCPUs: nil))
    XCTAssertEqual(try WorkerPlan.resolve(workers: 0, pinCores: [], host: cpuset).workerCount, 1)

    let quota = CPUAvailability(
      online: [0, 1, 2, 3], affinity: [0, 1, 2, 3], cgroup: CgroupCPULimits(cpuset: nil, quotaCPUs: 2.5))
    XCTAssertEqual(try WorkerPlan.resolve(workers: 0, pinCores: [], host: quota).workerCount, 3)

    let tinyQuota = CPUAvailability(
      online: [0, 1, 2, 3], affinity: [0, 1, 2, 3], cgroup: CgroupCPULimits(cpuset: nil, quotaCPUs: 0.2))
    XCTAssertEqual(try WorkerPlan.resolve(workers: 0, pinCores: [], host: tinyQuota).workerCount, 1)
  }

  func testExplicitCountWins() throws {
    XCTAssertEqual(try WorkerPlan.resolve(workers: 7, pinCores: [], host: fourCPUs).workerCount, 7)
  }

  func testPinListSetsTheCountWhenWorkersIsZero() throws {
    let plan = try WorkerPlan.resolve(workers: 0, pinCores: [3, 1], host: fourCPUs)
    XCTAssertEqual(plan.workerCount, 2)
    XCTAssertEqual(plan.pinCores, [3, 1])
  }

  func testRefusesACoreThatDoesNotExistAndSaysWhich() {
    XCTAssertThrowsError(try WorkerPlan.resolve(workers: 2, pinCores: [1, 9], host: fourCPUs)) { error in
      let text = String(describing: error)
      XCTAssertTrue(text.contains("pin_cores[1] = 9"), text)
      XCTAssertTrue(text.contains("does not exist"), text)
      XCTAssertTrue(text.contains("0-3"), text)
    }
  }

  func testRefusesACoreOutsideTheAffinityMask() {
    let taskset = CPUAvailability(online: [0, 1, 2, 3], affinity: [0, 1])
    XCTAssertThrowsError(try WorkerPlan.resolve(workers: 1, pinCores: [2], host: taskset)) { error in
      XCTAssertTrue(String(describing: error).contains("not available to this process"))
    }
  }

  func testRefusesMismatchedCountAndDuplicates() {
    XCTAssertThrowsError(try WorkerPlan.resolve(workers: 3, pinCores: [0, 1], host: fourCPUs))
    XCTAssertThrowsError(try WorkerPlan.resolve(workers: 0, pinCores: [1, 1], host: fourCPUs))
  }

  func testProbeOfThisProcessIsConsistent() {
    let host = CPUAvailability.probe()
    XCTAssertFalse(host.online.isEmpty)
    XCTAssertFalse(host.affinity.isEmpty)
    XCTAssertTrue(Set(host.allowed).isSubset(of: Set(host.affinity)))
    XCTAssertLessThanOrEqual(host.usableCount, host.affinity.count)
  }
}
