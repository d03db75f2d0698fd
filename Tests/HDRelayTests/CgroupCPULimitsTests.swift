import XCTest
@testable import HDConfig

final class CgroupCPULimitsTests: XCTestCase {
  func testUnifiedHierarchyCpusetAndSmallestQuotaAlongThePath() {
    let tree = TestFixtureTree()
    tree.write("proc/self/cgroup", "0::/system.slice/hd.service\n")
    tree.write(
      "proc/self/mountinfo",
      "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        + "26 1 0:23 / /proc rw - proc proc rw\n")
    tree.write("sys/fs/cgroup/system.slice/hd.service/cpuset.cpus.effective", "2-3\n")
    tree.write("sys/fs/cgroup/system.slice/hd.service/cpu.max", "max 100000\n")
    tree.write("sys/fs/cgroup/system.slice/cpu.max", "150000 100000\n")
    tree.write("sys/fs/cgroup/cpu.max", "400000 100000\n")

    let limits = CgroupCPULimits.read(root: tree.root)
    XCTAssertEqual(limits.cpuset, [2, 3])
    XCTAssertEqual(limits.quotaCPUs, 1.5)
  }

  func testLegacyHierarchyWithContainerMountRoot() {
    let tree = TestFixtureTree()
    tree.write("proc/self/cgroup", "4:cpuset:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n")
    // Inside the container the cgroup directory itself is mounted at the mount point.
    tree.write(
      "proc/self/mountinfo",
      "30 25 0:26 /docker/abc /sys/fs/cgroup/cpuset ro - cgroup cgroup rw,cpuset\n"
        + "31 25 0:27 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n")
    tree.write("sys/fs/cgroup/cpuset/cpuset.effective_cpus", "0,2\n")
    tree.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "50000\n")
    tree.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")

    let limits = CgroupCPULimits.read(root: tree.root)
    XCTAssertEqual(limits.cpuset, [0, 2])
    XCTAssertEqual(limits.quotaCPUs, 0.5)
  }

  func testNoCgroupFilesMeansNoLimits() {
    let tree = TestFixtureTree()
    XCTAssertEqual(CgroupCPULimits.read(root: tree.root), CgroupCPULimits())
  }

  func testUnlimitedLegacyQuotaIsIgnored() {
    let tree = TestFixtureTree()
    tree.write("proc/self/cgroup", "3:cpu,cpuacct:/\n")
    tree.write("proc/self/mountinfo", "31 25 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\n")
    tree.write("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n")
    tree.write("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n")
    XCTAssertNil(CgroupCPULimits.read(root: tree.root).quotaCPUs)
  }

  func testMountPathEscapes() {
    XCTAssertEqual(CgroupMount.unescapeMountPath("/a\\040b"), "/a b")
  }
}
