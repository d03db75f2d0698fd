import Foundation
import XCTest
@testable import HDRelay

final class ThreadAffinityTests: XCTestCase {
  /// Pins a fresh thread and reads its mask back through its kernel thread id,
  /// the same way the daemon's pinning integration test looks at workers.
  func testPinnedThreadReportsOnlyItsCore() throws {
    let host = CPUAvailability.probe()
    let target = try XCTUnwrap(host.allowed.last)
    let result = PinProbe()
    let thread = Thread {
      do {
        try ThreadAffinity.pinCurrentThread(to: [target])
        result.set(tid: ThreadAffinity.currentThreadID(), cpus: ThreadAffinity.currentThreadCPUs())
        result.waitForRelease()
      } catch {
        result.set(tid: -1, cpus: [])
      }
    }
    thread.start()
    let (tid, ownView) = result.waitForValue()
    defer { result.release() }
    XCTAssertGreaterThan(tid, 0)
    XCTAssertEqual(ownView, [target])
    XCTAssertEqual(ThreadAffinity.cpus(ofThread: tid), [target])
    // The test's own thread is untouched.
    XCTAssertEqual(Set(ThreadAffinity.currentThreadCPUs()), Set(host.affinity))
  }

  func testPinningToANonexistentCPUFails() {
    XCTAssertThrowsError(try ThreadAffinity.pinCurrentThread(to: [4000]))
  }
}

/// Hands a result from the probe thread to the test thread.
final class PinProbe: @unchecked Sendable {
  private let condition = NSCondition()
  private var value: (Int32, [Int])?
  private var released = false

  func set(tid: Int32, cpus: [Int]) {
    condition.lock()
    value = (tid, cpus)
    condition.broadcast()
    condition.unlock()
  }

  func waitForValue() -> (Int32, [Int]) {
    condition.lock()
    defer { condition.unlock() }
    while value == nil { condition.wait() }
    return value!
  }

  func waitForRelease() {
    condition.lock()
    while !released { condition.wait() }
    condition.unlock()
  }

  func release() {
    condition.lock()
    released = true
    condition.broadcast()
    condition.unlock()
  }
}
