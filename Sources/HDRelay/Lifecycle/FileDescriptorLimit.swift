// Every peer is a socket, so the soft RLIMIT_NOFILE (often 1024) caps the
// number of clients long before memory does. Raising soft to hard needs no
// privilege; the hard limit is the operator's decision (LimitNOFILE=).
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

public struct FileDescriptorLimit: Sendable, Equatable {
  public var soft: UInt64
  public var hard: UInt64

  public static func current() -> FileDescriptorLimit? {
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0 else { return nil }
    return FileDescriptorLimit(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
  }

  /// Raises the soft limit to the hard limit. Returns the limits before and
  /// after; throws with the errno text when the kernel refuses.
  public static func raiseSoftToHard() throws(FileDescriptorLimitError) -> (before: FileDescriptorLimit, after: FileDescriptorLimit) {
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0 else {
      throw FileDescriptorLimitError(description: "getrlimit(RLIMIT_NOFILE): \(HostFile.errnoText(errno))")
    }
    let before = FileDescriptorLimit(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    if limit.rlim_cur < limit.rlim_max {
      limit.rlim_cur = limit.rlim_max
      guard setrlimit(resource, &limit) == 0 else {
        throw FileDescriptorLimitError(
          description: "setrlimit(RLIMIT_NOFILE, \(before.hard)): \(HostFile.errnoText(errno))")
      }
    }
    return (before, current() ?? before)
  }

  private static var resource: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}

public struct FileDescriptorLimitError: Error, CustomStringConvertible, Sendable {
  public var description: String
}
