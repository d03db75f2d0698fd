// Everything that can go wrong on the client side, with enough context to
// print a useful one-line message in hdctl and test failures.
import HDProtocol

public enum DERPClientError: Error, Equatable, CustomStringConvertible {
  case resolveFailed(host: String, reason: String)
  case connectFailed(address: String, errno: Int32)
  case connectTimedOut(address: String)
  /// A socket call failed; `operation` names it (read, write, setsockopt…).
  case io(operation: String, errno: Int32)
  /// No data within the read timeout.
  case timedOut
  /// The server closed the connection.
  case closed
  /// The server answered the upgrade with something other than 101.
  case upgradeRefused(statusLine: String)
  case handshake(HandshakeError)
  /// The server sent something the protocol does not allow.
  case protocolViolation(String)
  case tls(String)
  /// The server's certificate failed CA verification or the `sha256-raw:` pin.
  case certificateRejected(String)

  public var description: String {
    switch self {
    case .resolveFailed(let host, let reason): return "cannot resolve \(host): \(reason)"
    case .connectFailed(let address, let e): return "connect \(address): \(errnoText(e))"
    case .connectTimedOut(let address): return "connect \(address): timed out"
    case .io(let op, let e): return "\(op): \(errnoText(e))"
    case .timedOut: return "timed out waiting for the server"
    case .closed: return "connection closed by the server"
    case .upgradeRefused(let line): return "server refused the DERP upgrade: \(line)"
    case .handshake(let e): return "handshake: \(e)"
    case .protocolViolation(let why): return "protocol violation: \(why)"
    case .tls(let why): return "TLS: \(why)"
    case .certificateRejected(let why): return "TLS certificate rejected: \(why)"
    }
  }
}

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

func errnoText(_ e: Int32) -> String {
  guard let p = strerror(e) else { return "errno \(e)" }
  return String(cString: p) + " (errno \(e))"
}
