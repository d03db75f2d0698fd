// Linux kernel TLS (kTLS): after the userspace handshake the record keys go
// into the socket (TCP_ULP "tls", then SOL_TLS TLS_TX and TLS_RX) and the
// socket carries plaintext from then on. The host kernels of this project may
// lack the `tls` module, so everything here reports why it cannot rather than
// assuming.
@preconcurrency import Glibc
internal import CTLS

/// Why kernel TLS is not available on this machine.
public struct KernelTLSUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Cause: Sendable, Equatable {
    /// TCP_ULP "tls" → ENOENT: the `tls` module is not loaded and could not be.
    case moduleAbsent
    /// SOL_TLS → ENOPROTOOPT: the kernel has no TLS socket options.
    case socketOptionsUnsupported
    /// The ULP attached but the AES-GCM key was refused (crypto module missing).
    case cipherUnavailable
    /// Could not even build the loopback socket pair to probe with.
    case probeFailed
  }

  public let cause: Cause
  public let errnoCode: Int32
  public let step: String

  public var description: String {
    let error = String(cString: strerror(errnoCode))
    switch cause {
    case .moduleAbsent:
      return "kernel TLS unavailable: \(step): \(error); load the module with `modprobe tls` "
        + "and make it permanent with `echo tls > /etc/modules-load.d/tls.conf`"
    case .socketOptionsUnsupported:
      return "kernel TLS unavailable: \(step): \(error); this kernel has no SOL_TLS (needs CONFIG_TLS, "
        + "`modprobe tls`, persisted in /etc/modules-load.d/tls.conf)"
    case .cipherUnavailable:
      return "kernel TLS unavailable: \(step): \(error); the kernel refused an AES-GCM key (gcm/aes crypto modules)"
    case .probeFailed:
      return "kernel TLS probe failed: \(step): \(error)"
    }
  }
}

/// Kernel TLS operations on a connected TCP socket.
public enum KernelTLS {
  /// TLS content types (RFC 8446 §5.1).
  public static let recordTypeAlert: UInt8 = 21
  public static let recordTypeHandshake: UInt8 = 22
  public static let recordTypeApplicationData: UInt8 = 23

  /// Checks what a connection will need: TCP_ULP "tls" on an established
  /// loopback TCP socket (the ULP only attaches to established sockets), then
  /// an AES-128-GCM TX key. Takes a few syscalls; run once at startup.
  public static func probe() -> Result<Void, KernelTLSUnavailable> {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard listener >= 0 else { return .failure(.init(cause: .probeFailed, errnoCode: errno, step: "socket")) }
    defer { close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let listening = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0
      }
    }
    guard listening else { return .failure(.init(cause: .probeFailed, errnoCode: errno, step: "loopback listen")) }
    let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard client >= 0 else { return .failure(.init(cause: .probeFailed, errnoCode: errno, step: "socket")) }
    defer { close(client) }
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) == 0 }
    }
    guard connected else { return .failure(.init(cause: .probeFailed, errnoCode: errno, step: "loopback connect")) }
    // Keep the peer open: once it closes, the socket leaves ESTABLISHED and
    // the ULP refuses with ENOTCONN.
    let accepted = accept(listener, nil, nil)
    defer { if accepted >= 0 { close(accepted) } }

    let ulp = ctls_ktls_attach_ulp(client)
    if ulp != 0 {
      return .failure(.init(cause: -ulp == ENOENT ? .moduleAbsent : (-ulp == ENOTCONN ? .probeFailed : .socketOptionsUnsupported),
                            errnoCode: -ulp, step: "setsockopt(TCP_ULP, \"tls\")"))
    }
    let zeros = [UInt8](repeating: 0, count: 16)
    let rc = ctls_ktls_install_aes_gcm(client, 1, ctls_ktls_version_tls13(), zeros, 16, zeros, zeros, zeros)
    if rc != 0 {
      return .failure(.init(cause: -rc == ENOPROTOOPT ? .socketOptionsUnsupported : .cipherUnavailable,
                            errnoCode: -rc, step: "setsockopt(SOL_TLS, TLS_TX)"))
    }
    return .success(())
  }

  /// Which step of `install` failed, with errno.
  public struct InstallError: Error, Sendable, Equatable {
    public let step: String
    public let errnoCode: Int32
  }

  /// Attaches the ULP and installs TX then RX keys on `fd`. On failure the
  /// socket is in an unknown TLS state: close the connection.
  public static func install(fd: Int32, keys: SessionTrafficKeys) -> Result<Void, InstallError> {
    let ulp = ctls_ktls_attach_ulp(fd)
    guard ulp == 0 else { return .failure(InstallError(step: "TCP_ULP", errnoCode: -ulp)) }
    let version = keys.version == .tls13 ? ctls_ktls_version_tls13() : ctls_ktls_version_tls12()
    for (isTransmit, key) in [(true, keys.transmit), (false, keys.receive)] {
      let iv = key.kernelIV(version: keys.version)
      let rc = ctls_ktls_install_aes_gcm(
        fd, isTransmit ? 1 : 0, version, key.key, key.key.count, iv, key.kernelSalt, key.nextSequence.bigEndianBytes)
      guard rc == 0 else { return .failure(InstallError(step: isTransmit ? "TLS_TX" : "TLS_RX", errnoCode: -rc)) }
    }
    return .success(())
  }

  /// After kernel RX is on, a non-data record (alert, post-handshake message)
  /// makes plain reads fail with EIO. This reads one record with its type.
  /// Returns (bytes, content type), (0, 23) at EOF, or nil with errno set.
  public static func receiveRecord(fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> (Int, UInt8)? {
    var recordType: UInt8 = 0
    let n = ctls_ktls_recv_record(fd, buffer.baseAddress, buffer.count, &recordType)
    if n < 0 {
      errno = Int32(-n)
      return nil
    }
    return (n, recordType)
  }

  /// Sends an alert record through kernel TX (level 1 warning, 2 fatal;
  /// description 0 = close_notify). Returns false with errno set on failure.
  public static func sendAlert(fd: Int32, level: UInt8, description: UInt8) -> Bool {
    let alert: [UInt8] = [level, description]
    let n = ctls_ktls_send_record(fd, alert, alert.count, recordTypeAlert)
    if n < 0 {
      errno = Int32(-n)
      return false
    }
    return n == alert.count
  }
}
