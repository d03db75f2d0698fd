// UDP sockets for the STUN responder (start-up only).
@preconcurrency import Glibc
import CSys
import CURing

enum STUNSockets {
  /// A non-blocking UDP socket bound to `address:port`. IPv6 sockets are
  /// IPV6_V6ONLY so an IPv4 socket on the same port can coexist. No
  /// SO_REUSEPORT: a second responder on a taken port must fail, not split
  /// the traffic silently.
  static func open(_ address: BindAddress, port: Int) throws(RelayError) -> (fd: Int32, port: Int) {
    let fd = csys_udp_socket(address.family)
    guard fd >= 0 else { throw RelayError.system("STUN UDP socket for \(address.text)", errno: -fd) }
    if address.family == AF_INET6 {
      _ = hd_set_int_sockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1)
    }
    var storage = sockaddr_storage()
    let length = Sockets.fill(&storage, address: address, port: port)
    let rc = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard rc == 0 else {
      let e = errno
      close(fd)
      throw RelayError.system("STUN bind \(address.text) UDP port \(port)", errno: e)
    }
    return (fd, Sockets.localPort(fd))
  }

  /// False when the kernel has no IPv6 at all (ipv6.disable=1 or no module):
  /// then the all-addresses mode serves IPv4 only.
  static func ipv6Available() -> Bool {
    let fd = csys_udp_socket(AF_INET6)
    guard fd >= 0 else { return fd != -EAFNOSUPPORT }
    close(fd)
    return true
  }
}
