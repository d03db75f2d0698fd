// sd_notify(3) without libsystemd: one datagram per state change to the unix
// socket named by NOTIFY_SOCKET ("/run/systemd/notify", or "@name" for the
// abstract namespace). With Type=notify systemd then knows when we are really
// serving (READY=1) and that a stop is in progress (STOPPING=1).
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CSys

public struct SystemdNotifier: Sendable {
  /// The socket address from NOTIFY_SOCKET; nil when not run under systemd.
  public let socketAddress: String?

  /// - Parameter socketAddress: defaults to the NOTIFY_SOCKET environment variable.
  public init(socketAddress: String? = SystemdNotifier.environmentSocket()) {
    self.socketAddress = socketAddress.flatMap { $0.isEmpty ? nil : $0 }
  }

  public static func environmentSocket() -> String? {
    getenv("NOTIFY_SOCKET").map { String(cString: $0) }
  }

  public var isEnabled: Bool { socketAddress != nil }

  /// Sends READY=1 once the relay accepts connections.
  @discardableResult
  public func ready(status: String) -> Result<Void, SystemdNotifyError> {
    send("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())")
  }

  /// Sends STOPPING=1 when a graceful stop begins.
  @discardableResult
  public func stopping() -> Result<Void, SystemdNotifyError> { send("STOPPING=1") }

  /// Sends RELOADING=1 with the monotonic timestamp systemd's Type=notify-reload requires.
  @discardableResult
  public func reloading() -> Result<Void, SystemdNotifyError> {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let micros = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    return send("RELOADING=1\nMONOTONIC_USEC=\(micros)")
  }

  /// Sends READY=1 after a reload finished (and a status line).
  @discardableResult
  public func reloaded(status: String) -> Result<Void, SystemdNotifyError> {
    send("READY=1\nSTATUS=\(status)")
  }

  /// Sends one notification datagram; success when there is no NOTIFY_SOCKET.
  @discardableResult
  public func send(_ message: String) -> Result<Void, SystemdNotifyError> {
    guard let path = socketAddress else { return .success(()) }
    guard path.hasPrefix("/") || path.hasPrefix("@") else {
      return .failure(SystemdNotifyError(description: "NOTIFY_SOCKET=\(path) is neither a path nor @abstract"))
    }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    var nameBytes = Array(path.utf8)
    if nameBytes[0] == UInt8(ascii: "@") { nameBytes[0] = 0 }  // abstract namespace
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    // Paths need room for their NUL; abstract names are length-delimited.
    guard nameBytes.count + (nameBytes[0] == 0 ? 0 : 1) <= capacity else {
      return .failure(SystemdNotifyError(description: "NOTIFY_SOCKET path is longer than \(capacity - 1) bytes"))
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in nameBytes.enumerated() { raw[index] = byte }
    }
    let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
    let addressLength = pathOffset + nameBytes.count + (nameBytes[0] == 0 ? 0 : 1)

    let fd = csys_unix_datagram_socket()
    guard fd >= 0 else {
      return .failure(SystemdNotifyError(description: "socket(AF_UNIX): \(HostFile.errnoText(-fd))"))
    }
    defer { close(fd) }
    let payload = Array(message.utf8)
    let sent = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
        payload.withUnsafeBytes { bytes in
          sendto(fd, bytes.baseAddress, bytes.count, Int32(CSYS_MSG_NOSIGNAL), sa, socklen_t(addressLength))
        }
      }
    }
    guard sent == payload.count else {
      return .failure(SystemdNotifyError(description: "sending to NOTIFY_SOCKET \(path): \(HostFile.errnoText(errno))"))
    }
    return .success(())
  }
}

public struct SystemdNotifyError: Error, CustomStringConvertible, Sendable {
  public var description: String
}
