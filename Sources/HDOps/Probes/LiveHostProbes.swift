// The probes made for real on the running host.
@preconcurrency import Glibc
import CSys
import CURing

public struct LiveHostProbes: HostProbes {
  public init() {}

  public func ioUringSetup() -> ProbeOutcome { Self.setUpRing(flags: 0) }

  public func ioUringSetupSQPoll() -> ProbeOutcome { Self.setUpRing(flags: UInt32(IORING_SETUP_SQPOLL)) }

  private static func setUpRing(flags: UInt32) -> ProbeOutcome {
    var ring = io_uring()
    let result = io_uring_queue_init(8, &ring, flags)
    guard result == 0 else { return .failed(errno: -result) }
    io_uring_queue_exit(&ring)
    return .ok
  }

  public func kernelTLSULP() -> ProbeOutcome {
    // The kernel only attaches the tls ULP to an established TCP socket, so the
    // probe needs a real loopback connection (what the C++ ProbeKtls does too).
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard listener >= 0 else { return .failed(errno: errno) }
    defer { close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
        bind(listener, pointer, length) == 0 && listen(listener, 1) == 0
          && getsockname(listener, pointer, &length) == 0
      }
    }
    guard bound else { return .failed(errno: errno) }
    let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard client >= 0 else { return .failed(errno: errno) }
    defer { close(client) }
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) == 0 }
    }
    guard connected else { return .failed(errno: errno) }
    let server = accept(listener, nil, nil)
    guard server >= 0 else { return .failed(errno: errno) }
    defer { close(server) }
    let tcpULP: Int32 = 31  // TCP_ULP from linux/tcp.h; Glibc does not export it.
    let name = Array("tls".utf8)
    let result = name.withUnsafeBytes {
      setsockopt(client, Int32(IPPROTO_TCP), tcpULP, $0.baseAddress, socklen_t($0.count))
    }
    return result == 0 ? .ok : .failed(errno: errno)
  }

  public func affinityCPUs() -> [Int]? {
    var cpus = [Int32](repeating: 0, count: 1024)
    let count = csys_sched_getaffinity(0, &cpus, Int32(cpus.count))
    guard count >= 0 else { return nil }
    return cpus.prefix(Int(count)).map(Int.init)
  }

  public func openFilesLimit() -> ResourceLimit { Self.limit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue)) }

  public func lockedMemoryLimit() -> ResourceLimit { Self.limit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue)) }

  private static func limit(_ resource: __rlimit_resource_t) -> ResourceLimit {
    var value = rlimit()
    guard getrlimit(resource, &value) == 0 else {
      return ResourceLimit(soft: nil, hard: nil)
    }
    func finite(_ raw: rlim_t) -> UInt64? { raw == rlim_t.max ? nil : UInt64(raw) }  // RLIM_INFINITY
    return ResourceLimit(soft: finite(value.rlim_cur), hard: finite(value.rlim_max))
  }

  public func effectiveUserID() -> UInt32 { geteuid() }

  public func bindLoopback(port: Int) -> ProbeOutcome {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return .failed(errno: errno) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(clamping: port).bigEndian
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return result == 0 ? .ok : .failed(errno: errno)
  }

  public func httpGet(host: String, port: Int, path: String, timeoutMilliseconds: Int) -> HealthProbeResult {
    HTTPGet.fetch(host: host, port: port, path: path, timeoutMilliseconds: timeoutMilliseconds)
  }

  public func tcpListeners(port: Int) -> [PortListener] { NetworkProbes.tcpListeners(port: port) }

  public func resolve(host: String) -> HostResolution { NetworkProbes.resolve(host: host) }

  public func localAddresses() -> [String]? { NetworkProbes.localAddresses() }
}

/// The symbolic name of an errno ("EPERM"), used in facts and probes.json.
public func errnoName(_ code: Int32) -> String {
  ErrnoNames.byCode[code] ?? "errno \(code)"
}

enum ErrnoNames {
  static let byCode: [Int32: String] = [
    EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EIO: "EIO", EBADF: "EBADF", ENOMEM: "ENOMEM",
    EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", EINVAL: "EINVAL",
    EMFILE: "EMFILE", ENFILE: "ENFILE", ENOSPC: "ENOSPC", ENOSYS: "ENOSYS", ENOTCONN: "ENOTCONN",
    EOPNOTSUPP: "EOPNOTSUPP", ENOPROTOOPT: "ENOPROTOOPT", EADDRINUSE: "EADDRINUSE",
    EADDRNOTAVAIL: "EADDRNOTAVAIL", ECONNREFUSED: "ECONNREFUSED", ECONNRESET: "ECONNRESET",
    ETIMEDOUT: "ETIMEDOUT", EHOSTUNREACH: "EHOSTUNREACH", ENETUNREACH: "ENETUNREACH",
    EAGAIN: "EAGAIN", EAFNOSUPPORT: "EAFNOSUPPORT",
  ]

  static func code(named name: String) -> Int32? {
    byCode.first(where: { $0.value == name })?.key
  }
}
