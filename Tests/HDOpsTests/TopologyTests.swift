// CPU lists, sysfs topology, cgroup limits and the worker recommendation.
import XCTest
import HDConfig
@testable import HDOps

final class TopologyTests: XCTestCase {
  func testCPUListRoundTripsAndRejectsGarbage() {
    XCTAssertEqual(CPUList.parse("0-3,8,10-11\n"), [0, 1, 2, 3, 8, 10, 11])
    XCTAssertEqual(CPUList.parse(""), [])
    XCTAssertEqual(CPUList.format([11, 0, 1, 2, 3, 8, 10]), "0-3,8,10-11")
    XCTAssertEqual(CPUList.format([Int]()), "none")
    XCTAssertNil(CPUList.parse("3-1"))
    XCTAssertNil(CPUList.parse("0-70000"))
    XCTAssertNil(CPUList.parse("a"))
    XCTAssertNil(CPUList.parse("1-2-3"))
  }

  func testIntelNumberingGroupsNAndNPlus8() throws {
    let topology = CPUTopology.read(root: try Fixtures.environment("intel-16vcpu-smt").root)
    XCTAssertEqual(topology.online.count, 16)
    XCTAssertEqual(topology.cores.count, 8)
    XCTAssertEqual(topology.core(containing: 11)?.cpus, [3, 11])
    XCTAssertTrue(topology.hasSMT)
  }

  func testTwoSocketAMDHasTwoNodesAndAdjacentSiblings() throws {
    let topology = CPUTopology.read(root: try Fixtures.environment("amd-2socket-smt").root)
    XCTAssertEqual(topology.packageCount, 2)
    XCTAssertEqual(topology.numaNodes.keys.sorted(), [0, 1])
    XCTAssertEqual(topology.core(containing: 17)?.cpus, [16, 17])
    XCTAssertEqual(topology.core(containing: 17)?.numaNode, 1)
  }

  func testCgroupV1HybridOfTheCIHost() throws {
    let limits = CgroupCPULimits.read(files: try Fixtures.environment("live-2vcpu").root)
    XCTAssertEqual(limits.cpuset, [0, 1])
    XCTAssertEqual(limits.cpusetSource, "/sys/fs/cgroup/cpuset/cpuset.effective_cpus")
    XCTAssertNil(limits.quotaCPUs, "cfs_quota_us -1 is unlimited")
  }

  func testCgroupV2ContainerCpusetAndQuota() throws {
    let environment = try Fixtures.environment("container-cgroup-limited")
    let allowance = CPUAllowance.read(root: environment.root, probes: environment.probes)
    XCTAssertEqual(allowance.allowed, [2, 3, 4, 5])
    XCTAssertEqual(allowance.cgroup.quotaCPUs, 1.5)
    XCTAssertEqual(allowance.cgroup.quotaSource, "/sys/fs/cgroup/cpu.max")
  }

  func testCgroupV2NestedPathFindsTheQuotaOnAnAncestor() throws {
    let directory = try copyFixture("intel-16vcpu-smt")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try "250000 100000\n".write(toFile: directory + "/sys/fs/cgroup/system.slice/cpu.max", atomically: true, encoding: .utf8)
    let limits = CgroupCPULimits.read(files: FileSystemRoot(directory: directory))
    XCTAssertEqual(limits.quotaCPUs, 2.5)
    XCTAssertEqual(limits.cpuset, Array(0...15))
  }

  func testRecommendationsPerFixture() throws {
    let expected: [String: (Int, [Int])] = [
      "live-2vcpu": (2, [0, 1]),
      "intel-16vcpu-smt": (7, [1, 2, 3, 4, 5, 6, 7]),
      "amd-2socket-smt": (7, [18, 20, 22, 24, 26, 28, 30]),
      "container-cgroup-limited": (1, [3]),
      "ktls-loaded": (3, [1, 2, 3]),
      "iouring-disabled": (2, [0, 1]),
    ]
    for name in Fixtures.names {
      let environment = try Fixtures.environment(name)
      let recommendation = try WorkerRecommendation.make(
        allowance: CPUAllowance.read(root: environment.root, probes: environment.probes),
        nicNodes: WorkerRecommendation.nicNumaNodes(root: environment.root), config: Config())
      XCTAssertEqual(recommendation.workers, expected[name]?.0, name)
      XCTAssertEqual(recommendation.pinCores, expected[name]?.1, name)
      XCTAssertEqual(recommendation.workers, recommendation.pinCores.count, name)
    }
  }

  func testIsolatedCoresAreWherePinnedWorkersGo() throws {
    let directory = try copyFixture("intel-16vcpu-smt")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try "4-7,12-15\n".write(toFile: directory + "/sys/devices/system/cpu/isolated", atomically: true, encoding: .utf8)
    let environment = try OpsEnvironment.forRoot(directory)
    var probes = try FixtureHostProbes(root: environment.root)
    probes.affinity = [0, 1, 2, 3, 8, 9, 10, 11]  // isolcpus are left out of the default mask
    let allowance = CPUAllowance.read(root: environment.root, probes: probes)
    let recommendation = try WorkerRecommendation.make(allowance: allowance, nicNodes: [:], config: Config())
    XCTAssertEqual(recommendation.pinCores, [4, 5, 6, 7])
    XCTAssertEqual(recommendation.housekeepingCPUs, [])
    XCTAssertTrue(recommendation.reasons.contains { $0.hasPrefix("isolcpus= 4-7,12-15 is set") })
  }

  func testNoUsableCPUIsAnError() throws {
    let environment = try Fixtures.environment("live-2vcpu")
    var probes = try FixtureHostProbes(root: environment.root)
    probes.affinity = [7]
    let allowance = CPUAllowance.read(root: environment.root, probes: probes)
    XCTAssertThrowsError(try WorkerRecommendation.make(allowance: allowance, nicNodes: [:], config: Config()))
  }
}
