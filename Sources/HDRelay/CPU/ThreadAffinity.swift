// Pinning threads to CPUs and reading their masks, through CSys because glibc's
// affinity API is a GNU extension Swift cannot see.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CSys
import HDConfig

public struct AffinityError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

public enum ThreadAffinity {
  /// The largest CPU number we can express (glibc's CPU_SETSIZE).
  static let cpuSetSize = 1024

  /// Pins the calling thread to exactly `cpus`.
  public static func pinCurrentThread(to cpus: [Int]) throws(AffinityError) {
    let list = cpus.map { Int32($0) }
    let rc = list.withUnsafeBufferPointer {
      csys_pthread_setaffinity(UInt(pthread_self()), $0.baseAddress, Int32($0.count))
    }
    guard rc == 0 else {
      throw AffinityError(
        description: "pinning thread to CPU \(CPUList.format(cpus)) failed: \(HostFile.errnoText(-rc))")
    }
  }

  /// The CPUs the calling thread may run on.
  public static func currentThreadCPUs() -> [Int] {
    cpus(ofThread: 0) ?? []
  }

  /// The CPUs the kernel thread `tid` may run on (a tid from `currentThreadID()`
  /// or /proc/self/task), or nil when there is no such thread.
  public static func cpus(ofThread tid: pid_t) -> [Int]? {
    var buffer = [Int32](repeating: 0, count: cpuSetSize)
    let count = buffer.withUnsafeMutableBufferPointer {
      csys_sched_getaffinity(tid, $0.baseAddress, Int32($0.count))
    }
    guard count >= 0 else { return nil }
    return buffer[0..<Int(count)].map { Int($0) }
  }

  /// Kernel thread id of the calling thread.
  public static func currentThreadID() -> pid_t { csys_gettid() }
}
