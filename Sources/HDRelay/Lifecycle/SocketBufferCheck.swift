// SO_SNDBUF/SO_RCVBUF above net.core.wmem_max/rmem_max are silently capped by
// the kernel, so an operator who sets `sockbuf` would otherwise never learn
// that it did nothing. The daemon logs these warnings at startup.

public enum SocketBufferCheck {
  /// Warnings for a configured `sockbufBytes` the kernel will cap; empty when fine.
  /// `root` prefixes /proc for tests.
  public static func warnings(sockbufBytes: Int, root: String = "") -> [String] {
    guard sockbufBytes > 0 else { return [] }
    var result: [String] = []
    for (sysctl, file) in [("net.core.rmem_max", "rmem_max"), ("net.core.wmem_max", "wmem_max")] {
      guard let text = HostFile.readText(root + "/proc/sys/net/core/" + file),
        let maximum = Int(HostFile.trimmed(text))
      else { continue }
      if sockbufBytes > maximum {
        result.append(
          "sockbuf \(sockbufBytes) exceeds \(sysctl) = \(maximum): the kernel caps the buffer at \(maximum) "
            + "(raise it with `sysctl -w \(sysctl)=\(sockbufBytes)` or `hdctl tune`)")
      }
    }
    return result
  }
}
